package dev.courier.broker;

import io.netty.util.concurrent.FastThreadLocal;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One routing pass over a vhost's exchanges, as RabbitMQ's {@code rabbit_exchange:route}: the
 * exchange's own matches, then exchange-to-exchange bindings and alternate exchanges, each
 * exchange visited at most once. An exchange's alternate exchange is used when the exchange
 * itself matched nothing (not when what it matched led nowhere).
 *
 * <p>Reused per thread so a publish allocates nothing here beyond what the caller's list grows
 * by; not thread-safe, and used by one routing call at a time ({@link #acquire}).
 */
final class Router implements RouteSink {
    private static final FastThreadLocal<Router> PER_THREAD = new FastThreadLocal<>() {
        @Override
        protected Router initialValue() {
            return new Router();
        }
    };

    /** Above this many targets, duplicates are found with a hash set instead of a scan. */
    private static final int LINEAR_DEDUPLICATION_LIMIT = 16;

    private final TopicTrie.Words words = new TopicTrie.Words();
    private Map<String, Exchange> exchanges;
    private List<MessageQueue> out;
    private String routingKey;
    private Message message;
    private Exchange[] visited = new Exchange[8];
    private int visitedCount;
    /** Destinations matched by the exchange being routed (its own table only). */
    private int matched;

    private boolean mayRepeat;
    private boolean wordsSplit;
    private boolean busy;

    /** This thread's router, or a fresh one if it is in use further up the stack. */
    static Router acquire() {
        Router router = PER_THREAD.get();
        return router.busy ? new Router() : router;
    }

    /**
     * Adds to {@code out} the distinct queues a message published to {@code start} reaches.
     *
     * @param exchanges the vhost's exchanges, to resolve alternate exchanges
     */
    void route(
            Map<String, Exchange> exchanges,
            Exchange start,
            String routingKey,
            Message message,
            List<MessageQueue> out) {
        busy = true;
        this.exchanges = exchanges;
        this.routingKey = routingKey;
        this.message = message;
        this.out = out;
        try {
            visit(start);
            if (mayRepeat || visitedCount > 1) {
                deduplicate(out);
            }
        } finally {
            Arrays.fill(visited, 0, visitedCount, null);
            visitedCount = 0;
            matched = 0;
            mayRepeat = false;
            wordsSplit = false;
            words.clear();
            this.exchanges = null;
            this.routingKey = null;
            this.message = null;
            this.out = null;
            busy = false;
        }
    }

    String routingKey() {
        return routingKey;
    }

    Message message() {
        return message;
    }

    /** The routing key split into topic words; split once per publish, on first use. */
    TopicTrie.Words words() {
        if (!wordsSplit) {
            words.split(routingKey);
            wordsSplit = true;
        }
        return words;
    }

    private void visit(Exchange exchange) {
        if (visitedCount == visited.length) {
            visited = Arrays.copyOf(visited, visitedCount * 2);
        }
        visited[visitedCount++] = exchange;
        int outer = matched;
        matched = 0;
        if (exchange.mayRepeat()) {
            mayRepeat = true;
        }
        exchange.route(this);
        int own = matched;
        matched = outer;
        String alternate = exchange.alternateExchange();
        if (own == 0 && alternate != null) {
            Exchange next = exchanges.get(alternate);
            if (next != null && !visited(next)) {
                visit(next);
            }
        }
    }

    @Override
    public void add(Object destination) {
        matched++;
        if (destination instanceof MessageQueue queue) {
            out.add(queue);
        } else {
            Exchange exchange = (Exchange) destination;
            if (!visited(exchange)) {
                visit(exchange);
            }
        }
    }

    private boolean visited(Exchange exchange) {
        for (int i = 0; i < visitedCount; i++) {
            if (visited[i] == exchange) {
                return true;
            }
        }
        return false;
    }

    /** Removes repeated queues from {@code out}, keeping first occurrences in order. */
    static void deduplicate(List<MessageQueue> out) {
        int size = out.size();
        if (size < 2) {
            return;
        }
        int kept = 0;
        if (size <= LINEAR_DEDUPLICATION_LIMIT) {
            for (int i = 0; i < size; i++) {
                MessageQueue queue = out.get(i);
                boolean seen = false;
                for (int j = 0; j < kept && !seen; j++) {
                    seen = out.get(j) == queue;
                }
                if (!seen) {
                    out.set(kept++, queue);
                }
            }
        } else {
            Set<MessageQueue> seen = Collections.newSetFromMap(new IdentityHashMap<>(size * 2));
            for (int i = 0; i < size; i++) {
                MessageQueue queue = out.get(i);
                if (seen.add(queue)) {
                    out.set(kept++, queue);
                }
            }
        }
        if (kept < size) {
            out.subList(kept, size).clear();
        }
    }
}
