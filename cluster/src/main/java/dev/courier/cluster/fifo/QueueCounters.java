package dev.courier.cluster.fifo;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;

/** The mutable lifetime counters behind {@link QueueStats}; part of the replicated state. */
final class QueueCounters {
    long published;
    long deduplicated;
    long rejected;
    long delivered;
    long redelivered;
    long acked;
    long deadLettered;
    long dropped;
    long expired;

    QueueStats toStats() {
        return new QueueStats(
                published, deduplicated, rejected, delivered, redelivered, acked, deadLettered, dropped, expired);
    }

    void writeTo(DataOutputStream out) throws IOException {
        out.writeLong(published);
        out.writeLong(deduplicated);
        out.writeLong(rejected);
        out.writeLong(delivered);
        out.writeLong(redelivered);
        out.writeLong(acked);
        out.writeLong(deadLettered);
        out.writeLong(dropped);
        out.writeLong(expired);
    }

    void readFrom(DataInputStream in) throws IOException {
        published = in.readLong();
        deduplicated = in.readLong();
        rejected = in.readLong();
        delivered = in.readLong();
        redelivered = in.readLong();
        acked = in.readLong();
        deadLettered = in.readLong();
        dropped = in.readLong();
        expired = in.readLong();
    }
}
