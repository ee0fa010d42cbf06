package dev.stackstream.broker;

/**
 * One way of running a single-node Kafka broker. Implementations own their process, threads and
 * files; {@link EmbeddedKafka} is the only public face.
 */
interface BrokerBackend {

    /** What runs the broker, for the log and for tests that must know. */
    EmbeddedKafka.Mode mode();

    /** {@code host:port} of the client listener; valid while running. */
    String bootstrapServers();

    /** Stops the broker, keeping its port and its data, so {@link #restart()} can bring it back. */
    void stop() throws Exception;

    /** Starts a stopped broker again on the same port with the same data. */
    void restart() throws Exception;

    /** False once the broker died by itself (a forked process that exited); true while stopped on purpose. */
    default boolean alive() {
        return true;
    }

    /** Stops the broker for good and frees its resources (and its data when it was temporary). */
    void close() throws Exception;
}
