package dev.courier.cluster.fifo;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The dedup keys (message ids) a queue accepted within its window, oldest first. A key is
 * remembered from the publish that was accepted with it; past the window, or when more than the
 * queue's max keys are held, the oldest are forgotten.
 */
final class DedupWindow {
    private final LinkedHashMap<String, Long> acceptedAtMs = new LinkedHashMap<>();

    int size() {
        return acceptedAtMs.size();
    }

    boolean contains(String key, long timeMs, long windowMs) {
        Long at = acceptedAtMs.get(key);
        return at != null && timeMs - at < windowMs;
    }

    void record(String key, long timeMs, int maxKeys) {
        // Re-inserting keeps the map in acceptance order, which forget relies on.
        acceptedAtMs.remove(key);
        acceptedAtMs.put(key, timeMs);
        if (maxKeys > 0 && acceptedAtMs.size() > maxKeys) {
            Iterator<String> eldest = acceptedAtMs.keySet().iterator();
            eldest.next();
            eldest.remove();
        }
    }

    void forgetOlderThan(long timeMs, long windowMs) {
        Iterator<Long> times = acceptedAtMs.values().iterator();
        while (times.hasNext()) {
            if (timeMs - times.next() < windowMs) {
                break;
            }
            times.remove();
        }
    }

    void writeTo(DataOutputStream out) throws IOException {
        out.writeInt(acceptedAtMs.size());
        for (Map.Entry<String, Long> e : acceptedAtMs.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeLong(e.getValue());
        }
    }

    void readFrom(DataInputStream in) throws IOException {
        int count = Wire.readCount(in);
        for (int i = 0; i < count; i++) {
            acceptedAtMs.put(in.readUTF(), in.readLong());
        }
    }
}
