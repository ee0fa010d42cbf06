package dev.stackstream.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Records nobody honest writes: lengths that lie, mutated real records, truncations. */
class HostileRecordsTest {

    /** The header of a current SampleBatch, then the body bytes given. */
    private static byte[] batchWithBody(byte... body) {
        byte[] header = Arrays.copyOf(WireCodec.encode(WireCodecTest.batch()), WireCodec.HEADER_BYTES);
        byte[] out = Arrays.copyOf(header, header.length + body.length);
        System.arraycopy(body, 0, out, header.length, body.length);
        return out;
    }

    private static byte[] zigzagVarint(long v) {
        long z = (v << 1) ^ (v >> 63);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((z & ~0x7FL) != 0) {
            out.write((int) ((z & 0x7F) | 0x80));
            z >>>= 7;
        }
        out.write((int) z);
        return out.toByteArray();
    }

    @Test
    void aStringLengthLargerThanTheRecordIsRefusedBeforeAnythingIsAllocated() {
        // 15 bytes whose first field (service, a string) says 2 GiB - 1: Avro alone allocates it.
        byte[] length = zigzagVarint(Integer.MAX_VALUE);
        byte[] record = batchWithBody(Arrays.copyOf(length, 5));
        assertEquals(15, record.length);
        WireFormatException e = assertThrows(WireFormatException.class, () -> WireCodec.decodeSampleBatch(record));
        assertTrue(e.getMessage().contains("SampleBatch.service: 2147483647 bytes declared, 0 left"), e.getMessage());
    }

    @Test
    void countsAndLengthsThatDoNotFitAreNamedByField() {
        // service "a", then a labels map declaring a billion entries in the 2 bytes that follow
        byte[] body = concat(zigzagVarint(1), new byte[] {'a'}, zigzagVarint(1_000_000_000), new byte[] {0, 0});
        WireFormatException e = assertThrows(WireFormatException.class,
                () -> WireCodec.decodeSampleBatch(batchWithBody(body)));
        assertTrue(e.getMessage().contains("SampleBatch.labels: 1000000000 items declared"), e.getMessage());

        byte[] negative = concat(zigzagVarint(-5));
        e = assertThrows(WireFormatException.class, () -> WireCodec.decodeSampleBatch(batchWithBody(negative)));
        assertTrue(e.getMessage().contains("negative length -5"), e.getMessage());

        byte[] endless = new byte[12];
        Arrays.fill(endless, (byte) 0xFF);
        e = assertThrows(WireFormatException.class, () -> WireCodec.decodeSampleBatch(batchWithBody(endless)));
        assertTrue(e.getMessage().contains("longer than 10 bytes"), e.getMessage());
    }

    @Test
    void trailingBytesAfterAValidBodyAreRefused() {
        byte[] good = WireCodec.encode(WireCodecTest.batch());
        byte[] longer = Arrays.copyOf(good, good.length + 3);
        WireFormatException e = assertThrows(WireFormatException.class, () -> WireCodec.decodeSampleBatch(longer));
        assertTrue(e.getMessage().contains("3 bytes follow the end"), e.getMessage());
    }

    /**
     * 20,000 mutations of real records of both types (bit flips, overwritten bytes, large varints
     * spliced in, truncations): each decodes or fails with a WireFormatException; nothing else
     * escapes (no OutOfMemoryError, no runtime exception from inside Avro).
     */
    @Test
    void mutatedRealRecordsDecodeOrFailCleanly() {
        byte[][] seeds = {WireCodec.encode(WireCodecTest.batch()), WireCodec.encode(WireCodecTest.definition())};
        SplittableRandom random = new SplittableRandom(20261203);
        int decoded = 0;
        int refused = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] seed = seeds[i % 2];
            byte[] m = mutate(seed, random);
            try {
                if (i % 2 == 0) {
                    WireCodec.decodeSampleBatch(m);
                } else {
                    WireCodec.decodeStackDefinition(m);
                }
                decoded++;
            } catch (WireFormatException e) {
                refused++;
            } catch (Throwable t) {
                fail("mutation " + i + " (" + m.length + " bytes) escaped as " + t, t);
            }
        }
        // Both outcomes occur: the mutations reach the body, and the checks do not refuse everything.
        assertTrue(decoded > 100 && refused > 1000, "decoded " + decoded + ", refused " + refused);
    }

    private static byte[] mutate(byte[] seed, SplittableRandom r) {
        byte[] m = seed.clone();
        int pos = WireCodec.HEADER_BYTES + r.nextInt(m.length - WireCodec.HEADER_BYTES);
        switch (r.nextInt(4)) {
            case 0 -> m[pos] ^= (byte) (1 << r.nextInt(8));
            case 1 -> m[pos] = (byte) r.nextInt(256);
            case 2 -> {
                byte[] big = zigzagVarint(r.nextBoolean() ? Integer.MAX_VALUE : -r.nextInt(1 << 30));
                byte[] out = Arrays.copyOf(m, m.length + big.length);
                System.arraycopy(big, 0, out, pos, big.length);
                System.arraycopy(m, pos, out, pos + big.length, m.length - pos);
                m = out;
            }
            default -> m = Arrays.copyOf(m, pos);
        }
        return m;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
