package dev.stackstream.aggregator.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.internal.DefaultRecord;
import org.apache.kafka.common.record.internal.DefaultRecordBatch;
import org.junit.jupiter.api.Test;

/** Dead letters sized for the topic's own limit, measured with Kafka's record format code. */
class DeadLettersTest {

    @Test
    void aLetterIsCutToWhatTheTopicTakesWithItsKeyAndHeaders() {
        byte[] key = new byte[500];
        RecordHeaders original = new RecordHeaders();
        original.add("trace", new byte[2048]);
        for (int limit : new int[] {4096, 8192, 65_536}) {
            DeadLetters.Letter letter = DeadLetters.of(key, new byte[200_000], original, "foreign-bytes",
                    "no window", "samples-0@7", limit);
            int size = DefaultRecordBatch.RECORD_BATCH_OVERHEAD + DefaultRecord.sizeInBytes(0, Long.MAX_VALUE / 2,
                    ByteBuffer.wrap(key), ByteBuffer.wrap(letter.value()), letter.headers().toArray());
            assertTrue(size <= limit, limit + ": the record takes " + size);
            assertTrue(size > limit - DeadLetters.RECORD_OVERHEAD - 64, limit + ": room left unused, " + size);
            assertEquals("200000", text(letter.headers().lastHeader(DeadLetters.CUT_HEADER)));
        }
    }

    @Test
    void aValueThatFitsIsKeptWhole() {
        byte[] value = new byte[6000];
        value[5999] = 9;
        DeadLetters.Letter letter = DeadLetters.of(new byte[10], value, null, "invalid", "why", "s-0@1", 8192);
        assertArrayEquals(value, letter.value());
        assertNull(letter.headers().lastHeader(DeadLetters.CUT_HEADER));
    }

    @Test
    void theBrokerDefaultKeepsTodaysWholeValueCap() {
        DeadLetters.Letter whole = DeadLetters.of(new byte[DeadLetters.MAX_WHOLE_VALUE], null, "invalid", "why", "s");
        assertEquals(DeadLetters.MAX_WHOLE_VALUE, whole.value().length);
        DeadLetters.Letter cut = DeadLetters.of(new byte[DeadLetters.MAX_WHOLE_VALUE + 1], null, "invalid", "why", "s");
        assertEquals(DeadLetters.KEPT_BYTES, cut.value().length);
    }

    private static String text(Header h) {
        return new String(h.value(), StandardCharsets.UTF_8);
    }
}
