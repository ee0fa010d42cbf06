package dev.stackstream.collector.publish;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The windows waiting for the broker, oldest first, bounded in bytes.
 *
 * <p>Adding beyond the bound drops the oldest windows that are not being delivered right now. The
 * window at the head that the sender is delivering stays until its fate is known (acknowledged:
 * removed; failed: retried), so the held bytes can exceed the bound by at most that one window.
 * A single window larger than the whole bound is dropped on arrival. Not thread-safe: the
 * publisher guards it.
 */
final class WindowBuffer {
    /** What an add had to drop. */
    record Dropped(int windows, long bytes) {
        static final Dropped NONE = new Dropped(0, 0);
    }

    private final long capacity;
    private final Deque<PendingWindow> windows = new ArrayDeque<>();
    private PendingWindow inFlight;
    private long bytes;

    WindowBuffer(long capacity) {
        this.capacity = capacity;
    }

    Dropped add(PendingWindow w) {
        long size = w.bytes();
        if (size > capacity) {
            return new Dropped(1, size);
        }
        int droppedWindows = 0;
        long droppedBytes = 0;
        while (bytes + size > capacity) {
            PendingWindow oldest = windows.peekFirst();
            if (oldest == null || oldest == inFlight) {
                // Only the window being delivered is left to drop; hold it and this one.
                PendingWindow second = secondOldest();
                if (second == null) {
                    break;
                }
                windows.remove(second);
                droppedWindows++;
                droppedBytes += second.bytes();
                bytes -= second.bytes();
                continue;
            }
            windows.pollFirst();
            droppedWindows++;
            droppedBytes += oldest.bytes();
            bytes -= oldest.bytes();
        }
        windows.addLast(w);
        bytes += size;
        return droppedWindows == 0 ? Dropped.NONE : new Dropped(droppedWindows, droppedBytes);
    }

    private PendingWindow secondOldest() {
        var it = windows.iterator();
        if (!it.hasNext()) {
            return null;
        }
        it.next();
        return it.hasNext() ? it.next() : null;
    }

    /** The oldest window, marked as being delivered; null when empty. */
    PendingWindow startDelivery() {
        inFlight = windows.peekFirst();
        return inFlight;
    }

    /** The window being delivered was acknowledged: it leaves the buffer. */
    void delivered(PendingWindow w) {
        if (inFlight == w) {
            inFlight = null;
        }
        if (windows.remove(w)) {
            bytes -= w.bytes();
        }
    }

    /** The delivery failed: the window stays at the head for the next attempt. */
    void failed(PendingWindow w) {
        if (inFlight == w) {
            inFlight = null;
        }
    }

    boolean isEmpty() {
        return windows.isEmpty();
    }

    int size() {
        return windows.size();
    }

    long bytes() {
        return bytes;
    }

    long capacity() {
        return capacity;
    }
}
