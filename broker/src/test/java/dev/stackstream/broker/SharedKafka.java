package dev.stackstream.broker;

/**
 * One broker per JVM, started on first use and closed when the JVM exits: the cheap fixture for
 * test classes that only produce and consume. Tests that stop or restart a broker must start their
 * own {@link EmbeddedKafka} instead, so they cannot disturb others.
 *
 * <p>Tests sharing it must use their own topic names (or consumer group ids) to stay independent.
 */
public final class SharedKafka {
    private static EmbeddedKafka instance;

    private SharedKafka() {
    }

    /** The JVM's shared broker, started on the first call. */
    public static synchronized EmbeddedKafka get() throws BrokerStartException {
        if (instance == null) {
            EmbeddedKafka kafka = EmbeddedKafka.start();
            Runtime.getRuntime().addShutdownHook(new Thread(kafka::close, "stackstream-shared-kafka-close"));
            instance = kafka;
        }
        return instance;
    }
}
