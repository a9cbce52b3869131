package dev.courier.server.management;

import dev.courier.broker.Broker;
import dev.courier.broker.MessageQueue;
import dev.courier.broker.QueueStats;
import dev.courier.broker.VirtualHost;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Samples every queue's counters once a second and keeps five minutes of samples per queue, from
 * which the management API computes rates (over the last five seconds, RabbitMQ's "basic" mode)
 * and the web page draws its charts. Runs on the management timer; readers synchronize on a
 * queue's history, which is touched once a second.
 */
final class StatsSampler implements AutoCloseable {
    /** Samples kept per queue: one a second for five minutes, plus one to diff against. */
    static final int HISTORY = 301;
    /** Rates are averaged over this many seconds. */
    static final int RATE_WINDOW = 5;

    private static final QueueStats.Counter[] COUNTERS = QueueStats.counters();
    // slots in a sample: counters, then ready, then unacked
    private static final int READY = COUNTERS.length;
    private static final int UNACKED = COUNTERS.length + 1;
    private static final int WIDTH = COUNTERS.length + 2;

    private final Broker broker;
    private final LongSupplier clockMs;
    private final Map<MessageQueue, History> histories = new ConcurrentHashMap<>();
    private final ScheduledFuture<?> task;

    StatsSampler(Broker broker, ScheduledExecutorService timer, LongSupplier clockMs) {
        this.broker = broker;
        this.clockMs = clockMs;
        sample();
        this.task = timer.scheduleAtFixedRate(this::sample, 1, 1, TimeUnit.SECONDS);
    }

    /** Takes one sample of every queue; forgets deleted queues. */
    void sample() {
        long nowMs = clockMs.getAsLong();
        Set<MessageQueue> live = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (VirtualHost vhost : broker.vhosts()) {
            for (MessageQueue queue : vhost.queues()) {
                live.add(queue);
                histories.computeIfAbsent(queue, q -> new History()).add(nowMs, queue);
            }
        }
        histories.keySet().retainAll(live);
    }

    /** RabbitMQ's {@code message_stats} for a queue: each counter and its {@code _details.rate}. */
    Map<String, Object> messageStats(MessageQueue queue) {
        return messageStats(counts(queue), rates(queue));
    }

    /**
     * RabbitMQ's {@code message_stats} from counts and rates indexed by {@link QueueStats.Counter}
     * (one queue's, or the sums over all queues), plus {@code deliver_get}.
     */
    static Map<String, Object> messageStats(long[] counts, double[] rates) {
        Map<String, Object> out = new LinkedHashMap<>();
        long deliverGet = 0;
        double deliverGetRate = 0;
        for (QueueStats.Counter counter : COUNTERS) {
            long count = counts[counter.ordinal()];
            double rate = rates[counter.ordinal()];
            out.put(counter.jsonName(), count);
            out.put(counter.jsonName() + "_details", Map.of("rate", rate));
            if (counter.deliverOrGet()) {
                deliverGet += count;
                deliverGetRate += rate;
            }
        }
        out.put("deliver_get", deliverGet);
        out.put("deliver_get_details", Map.of("rate", deliverGetRate));
        return out;
    }

    /** A queue's counters, indexed by {@link QueueStats.Counter}. */
    static long[] counts(MessageQueue queue) {
        long[] counts = new long[COUNTERS.length];
        for (QueueStats.Counter counter : COUNTERS) {
            counts[counter.ordinal()] = queue.stats().get(counter);
        }
        return counts;
    }

    /** A queue's rates over the last five seconds in messages per second, indexed by {@link QueueStats.Counter}. */
    double[] rates(MessageQueue queue) {
        History history = histories.get(queue);
        double[] rates = history == null ? new double[WIDTH] : history.rates();
        return java.util.Arrays.copyOf(rates, COUNTERS.length);
    }

    /** The rate of one counter over the last five seconds, in messages per second. */
    double rate(MessageQueue queue, QueueStats.Counter counter) {
        return rates(queue)[counter.ordinal()];
    }

    /**
     * Up to five minutes of one-second points for charts, oldest first: time (ms), ready,
     * unacked, publish rate, deliver/get rate, ack rate.
     */
    List<double[]> history(MessageQueue queue) {
        History history = histories.get(queue);
        return history == null ? List.of() : history.points();
    }

    @Override
    public void close() {
        task.cancel(false);
    }

    /** A ring of samples of one queue. */
    private static final class History {
        private final long[] times = new long[HISTORY];
        private final long[][] samples = new long[HISTORY][WIDTH];
        private int next;
        private int count;

        synchronized void add(long nowMs, MessageQueue queue) {
            QueueStats stats = queue.stats();
            long[] sample = samples[next];
            for (QueueStats.Counter counter : COUNTERS) {
                sample[counter.ordinal()] = stats.get(counter);
            }
            sample[READY] = queue.messageCount();
            sample[UNACKED] = stats.unacked();
            times[next] = nowMs;
            next = (next + 1) % HISTORY;
            count = Math.min(count + 1, HISTORY);
        }

        private int index(int back) {
            return Math.floorMod(next - 1 - back, HISTORY);
        }

        synchronized double[] rates() {
            double[] rates = new double[WIDTH];
            if (count < 2) {
                return rates;
            }
            int back = Math.min(RATE_WINDOW, count - 1);
            int latest = index(0);
            int earlier = index(back);
            double seconds = Math.max(1, times[latest] - times[earlier]) / 1000.0;
            for (int i = 0; i < COUNTERS.length; i++) {
                rates[i] = Math.max(0, samples[latest][i] - samples[earlier][i]) / seconds;
            }
            return rates;
        }

        synchronized List<double[]> points() {
            List<double[]> points = new ArrayList<>(count);
            for (int back = count - 2; back >= 0; back--) {
                int at = index(back);
                int before = index(back + 1);
                double seconds = Math.max(1, times[at] - times[before]) / 1000.0;
                long[] s = samples[at];
                long[] p = samples[before];
                points.add(new double[] {
                    times[at],
                    s[READY],
                    s[UNACKED],
                    rate(s, p, QueueStats.Counter.PUBLISH, seconds),
                    deliverGetRate(s, p, seconds),
                    rate(s, p, QueueStats.Counter.ACK, seconds)
                });
            }
            return points;
        }

        private static double deliverGetRate(long[] now, long[] before, double seconds) {
            double sum = 0;
            for (QueueStats.Counter counter : COUNTERS) {
                if (counter.deliverOrGet()) {
                    sum += rate(now, before, counter, seconds);
                }
            }
            return sum;
        }

        private static double rate(long[] now, long[] before, QueueStats.Counter counter, double seconds) {
            return Math.max(0, now[counter.ordinal()] - before[counter.ordinal()]) / seconds;
        }
    }
}
