package dev.stackstream.aggregator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stackstream.broker.SharedKafka;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The aggregator command in its own JVM, SIGKILLed and restarted at once, several times
 * ({@link RestartTrial}): from the restart until the answer is complete again, every answer to a
 * profile query is either 503 with {@code Retry-After} (or no connection while the JVM starts), or
 * the full, exact profile: never a 200 that shows less; and each restart ends in the exact full
 * answer. The instance is started without {@code --instance-id}: its static group membership comes
 * from the id kept in its state directory.
 *
 * <p>How long a restart takes is a benchmark number ({@code RestartBench},
 * {@code aggregator/bench/restart.sh}), not an assertion; the times are printed here only as a hint.
 */
class RestartAvailabilityTest {
    private static final int RESTARTS = 3;

    @Test
    void fullAnswersAfterKill9AndNeverAShort200() throws Exception {
        List<String> wrong = new ArrayList<>();
        List<Double> seconds = new ArrayList<>();
        try (RestartTrial trial = RestartTrial.start(SharedKafka.get().bootstrapServers(), "restart", List.of())) {
            for (int i = 0; i < RESTARTS; i++) {
                RestartTrial.Restart r = trial.killAndRestart();
                seconds.add(r.toFull());
                int restart = i;
                r.wrong().forEach(w -> wrong.add("restart " + restart + ": " + w));
            }
            System.out.printf("restart to full answers after kill -9: %s s (under test load; see RestartBench)%n",
                    seconds);
            assertEquals(List.of(), wrong, "answers between a restart and the full answer (log: " + trial.log() + ")");
        }
    }
}
