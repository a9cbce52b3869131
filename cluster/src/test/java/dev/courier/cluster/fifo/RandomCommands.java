package dev.courier.cluster.fifo;

import java.util.Random;

/**
 * Random commands from a seed. {@link #anyCommand} covers the whole value space (for codecs);
 * {@link #plausibleCommand} stays within a few queues, consumers and message ids so that random
 * sequences actually exercise the state machine.
 */
final class RandomCommands {
    static final int COMMAND_TYPES = 14;
    static final String[] QUEUES = {"q1", "q2", "q3"};
    static final String[] CONSUMERS = {"c1", "c2", "c3", "c4"};
    static final String[] GETTERS = {"g1", "g2"};
    static final String[] NODES = {"n1", "n2", "n3"};

    private final Random random;

    RandomCommands(Random random) {
        this.random = random;
    }

    Command anyCommand() {
        return anyCommand(random.nextInt(COMMAND_TYPES));
    }

    Command anyCommand(int type) {
        return switch (type) {
            case 0 -> new Command.DeclareQueue(anyString(), anySettings());
            case 1 -> new Command.DeleteQueue(anyString());
            case 2 ->
                new Command.Enqueue(
                        anyString(),
                        random.nextBoolean() ? null : anyString(),
                        random.nextLong(),
                        random.nextBoolean() ? null : anyString(),
                        random.nextInt(256),
                        random.nextLong(),
                        anyBytes(random.nextInt(300)));
            case 3 ->
                new Command.Checkout(
                        anyString(),
                        anyString(),
                        anyString(),
                        random.nextInt(Integer.MAX_VALUE),
                        random.nextBoolean(),
                        random.nextInt(),
                        random.nextBoolean());
            case 4 -> new Command.Cancel(anyString(), anyString());
            case 5 -> new Command.Settle(anyString(), anyString(), anyLongs());
            case 6 -> new Command.Return(anyString(), anyString(), anyLongs());
            case 7 -> new Command.Discard(anyString(), anyString(), anyLongs());
            case 8 -> new Command.Get(anyString(), anyString(), anyString(), random.nextBoolean(), random.nextLong());
            case 9 -> new Command.Purge(anyString());
            case 10 -> new Command.NodeDown(anyString());
            case 11 -> new Command.Detach(anyString(), anyString());
            case 12 -> new Command.Release(anyString(), anyString(), anyLongs());
            default -> new Command.Tick();
        };
    }

    QueueSettings anySettings() {
        Overflow[] overflows = Overflow.values();
        return new QueueSettings(
                random.nextInt(256),
                random.nextLong(),
                random.nextLong(),
                random.nextLong(),
                overflows[random.nextInt(overflows.length)],
                random.nextInt(),
                random.nextBoolean(),
                random.nextBoolean(),
                random.nextLong() & Long.MAX_VALUE,
                random.nextInt(Integer.MAX_VALUE));
    }

    /** A command a broker might send, over a small world of names, with log times drawn by the caller. */
    Command plausibleCommand(long nextMsgIdHint) {
        String queue = pick(QUEUES);
        int roll = random.nextInt(100);
        if (roll < 3) {
            return new Command.DeclareQueue(queue, plausibleSettings());
        } else if (roll < 4) {
            return new Command.DeleteQueue(queue);
        } else if (roll < 40) {
            return new Command.Enqueue(
                    queue,
                    random.nextInt(4) == 0 ? null : "p" + random.nextInt(3),
                    random.nextInt(30),
                    random.nextInt(3) == 0 ? "k" + random.nextInt(10) : null,
                    random.nextInt(12),
                    random.nextInt(3) == 0 ? random.nextInt(200) : -1,
                    anyBytes(random.nextInt(20)));
        } else if (roll < 48) {
            String consumer = pick(CONSUMERS);
            String node = pick(NODES);
            // c4 on n3 asks for exclusive use: no extra draw, so the logs stay as they were
            return new Command.Checkout(
                    queue,
                    consumer,
                    node,
                    random.nextInt(4),
                    random.nextInt(5) == 0,
                    random.nextInt(3),
                    consumer.equals("c4") && node.equals("n3"));
        } else if (roll < 51) {
            return new Command.Cancel(queue, pick(CONSUMERS));
        } else if (roll < 53) {
            return new Command.Detach(queue, pick(CONSUMERS));
        } else if (roll < 70) {
            return new Command.Settle(queue, pickConsumerOrGetter(), plausibleIds(nextMsgIdHint));
        } else if (roll < 76) {
            return new Command.Return(queue, pickConsumerOrGetter(), plausibleIds(nextMsgIdHint));
        } else if (roll < 78) {
            return new Command.Release(queue, pickConsumerOrGetter(), plausibleIds(nextMsgIdHint));
        } else if (roll < 82) {
            return new Command.Discard(queue, pickConsumerOrGetter(), plausibleIds(nextMsgIdHint));
        } else if (roll < 88) {
            return new Command.Get(queue, pick(GETTERS), pick(NODES), random.nextBoolean(), random.nextLong());
        } else if (roll < 90) {
            return new Command.Purge(queue);
        } else if (roll < 92) {
            return new Command.NodeDown(pick(NODES));
        }
        return new Command.Tick();
    }

    QueueSettings plausibleSettings() {
        Overflow[] overflows = Overflow.values();
        return new QueueSettings(
                random.nextInt(3) == 0 ? random.nextInt(10) : 0,
                random.nextInt(3) == 0 ? random.nextInt(300) : -1,
                random.nextInt(3) == 0 ? random.nextInt(8) : -1,
                random.nextInt(4) == 0 ? random.nextInt(100) : -1,
                overflows[random.nextInt(overflows.length)],
                random.nextInt(3) == 0 ? random.nextInt(3) : -1,
                random.nextBoolean(),
                random.nextInt(4) == 0,
                random.nextInt(3) == 0 ? random.nextInt(500) : 0,
                random.nextInt(5));
    }

    /** A log time step: mostly small, sometimes large, now and then backwards (a new leader's clock). */
    long timeStep() {
        int roll = random.nextInt(20);
        if (roll == 0) {
            return -random.nextInt(50);
        }
        return roll < 15 ? random.nextInt(20) : random.nextInt(400);
    }

    private long[] plausibleIds(long nextMsgIdHint) {
        long[] ids = new long[1 + random.nextInt(3)];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = Math.max(1, nextMsgIdHint - random.nextInt(12));
        }
        return ids;
    }

    private String pickConsumerOrGetter() {
        return random.nextInt(4) == 0 ? pick(GETTERS) : pick(CONSUMERS);
    }

    private String pick(String[] names) {
        return names[random.nextInt(names.length)];
    }

    private String anyString() {
        int length = random.nextInt(12);
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < length; i++) {
            int kind = random.nextInt(4);
            s.appendCodePoint(
                    switch (kind) {
                        case 0 -> 'a' + random.nextInt(26);
                        case 1 -> random.nextInt(0x80);
                        case 2 -> 0x80 + random.nextInt(0x700);
                        default -> 0x10000 + random.nextInt(0x1000);
                    });
        }
        return s.toString();
    }

    private byte[] anyBytes(int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    private long[] anyLongs() {
        long[] values = new long[random.nextInt(6)];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextLong();
        }
        return values;
    }
}
