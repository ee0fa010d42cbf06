package dev.stackstream.aggregator.query;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * An output stream that throws a 422 {@link ApiException} naming the limit before the bytes written
 * through it exceed it: a renderer writing a huge profile stops there instead of filling the heap.
 */
final class ResponseLimit extends FilterOutputStream {
    private final long limit;
    private long written;

    ResponseLimit(OutputStream out, long limit) {
        super(out);
        this.limit = limit;
    }

    @Override
    public void write(int b) throws IOException {
        grow(1);
        out.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        grow(len);
        out.write(b, off, len);
    }

    private void grow(int n) {
        if (written + n > limit) {
            throw tooLarge(limit);
        }
        written += n;
    }

    static ApiException tooLarge(long limit) {
        return ApiException.tooLarge("the answer is larger than the response limit of " + limit + " bytes"
                + " (the aggregator's --query-max-response); narrow the time range or the labels, or ask for a"
                + " smaller format (collapsed, pprof)");
    }
}
