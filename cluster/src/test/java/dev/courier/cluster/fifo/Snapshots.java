package dev.courier.cluster.fifo;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/** Snapshot bytes of a state, and a state restored from them. */
final class Snapshots {
    private Snapshots() {}

    static byte[] bytes(QueueGroupState state) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(buffer)) {
            state.writeSnapshot(out);
        }
        return buffer.toByteArray();
    }

    static QueueGroupState restore(byte[] snapshot) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(snapshot))) {
            QueueGroupState state = QueueGroupState.readSnapshot(in);
            if (in.read() != -1) {
                throw new IOException("trailing bytes after the snapshot");
            }
            return state;
        }
    }
}
