package dev.stackstream.broker;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension that injects the JVM's {@link SharedKafka} broker into test constructors,
 * lifecycle methods and test methods taking an {@link EmbeddedKafka} parameter:
 *
 * <pre>{@code
 * @ExtendWith(KafkaBrokerExtension.class)
 * class MyTest {
 *     @Test void roundTrip(EmbeddedKafka kafka) { ... kafka.bootstrapServers() ... }
 * }
 * }</pre>
 *
 * In the broker's test-jar (test scope for its users), so JUnit never reaches a runtime class path.
 */
public final class KafkaBrokerExtension implements ParameterResolver {

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == EmbeddedKafka.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        try {
            return SharedKafka.get();
        } catch (BrokerStartException e) {
            throw new ParameterResolutionException("no Kafka broker for the test: " + e.getMessage(), e);
        }
    }
}
