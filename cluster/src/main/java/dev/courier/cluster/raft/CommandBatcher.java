package dev.courier.cluster.raft;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's single proposing path into one group: gathers submitted commands into log entries
 * (up to {@link RaftTuning#batchMaxCommands()} / {@link RaftTuning#batchMaxBytes()} / {@link
 * RaftTuning#batchMaxDelayMs()}), keeps at most {@link RaftTuning#maxEntriesInFlight()} entries
 * in flight through the Ratis ordered async client (which forwards to the leader and keeps the
 * entries in order), and completes every command's future with its own reply.
 *
 * <p>Threading: {@link #submit} from any thread; one own thread forms and sends entries, so the
 * commands one node submits to one group are committed in submission order. Futures complete on a
 * Ratis client thread (callers should not block in their continuations).
 *
 * <p>A Ratis ordered client that gave up on an entry (its retry policy ran out, e.g. no majority
 * for longer than {@link RaftTuning#retryWindowMs()}) closes for good: every later send fails with
 * {@link AlreadyClosedException}. The batcher then replaces it with a new client before its next
 * entry, so the node proposes again once the group has a leader.
 */
final class CommandBatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CommandBatcher.class);

    private final String groupName;
    private final Supplier<RaftClient> clients;
    /** Replaced by the batcher thread only, after the current one closed itself. */
    private volatile RaftClient client;

    private volatile boolean clientBroken;
    private final RaftTuning tuning;
    private final LongSupplier clockMs;
    private final LinkedBlockingQueue<PendingCommand> queue = new LinkedBlockingQueue<>();
    private final Semaphore inFlightSlots;
    private final Set<InFlightEntry> inFlight = ConcurrentHashMap.newKeySet();
    private final AtomicLong proposedEntries = new AtomicLong();
    private final AtomicLong proposedCommands = new AtomicLong();
    private final Thread thread;
    private volatile boolean closed;
    // Only the batcher thread touches this: a command taken from the queue that did not fit.
    private PendingCommand carried;

    private record PendingCommand(byte[] command, long enqueuedNs, CompletableFuture<byte[]> reply) {}

    /** An entry sent and not yet answered; identity equality (commands may repeat). */
    private static final class InFlightEntry {
        final List<PendingCommand> commands;

        InFlightEntry(List<PendingCommand> commands) {
            this.commands = commands;
        }
    }

    CommandBatcher(
            String threadName,
            String groupName,
            Supplier<RaftClient> clients,
            RaftTuning tuning,
            LongSupplier clockMs) {
        this.groupName = groupName;
        this.clients = clients;
        this.client = clients.get();
        this.tuning = tuning;
        this.clockMs = clockMs;
        this.inFlightSlots = new Semaphore(tuning.maxEntriesInFlight());
        this.thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    CompletableFuture<byte[]> submit(byte[] command) {
        CompletableFuture<byte[]> reply = new CompletableFuture<>();
        if (command.length > tuning.maxCommandBytes()) {
            reply.completeExceptionally(new IllegalArgumentException("command of " + command.length
                    + " bytes exceeds the largest entry (" + tuning.maxCommandBytes() + " bytes)"));
            return reply;
        }
        queue.add(new PendingCommand(command, System.nanoTime(), reply));
        // close() sets closed before it drains; a command added after that drain is failed here.
        if (closed) {
            failQueued();
        }
        return reply;
    }

    long proposedEntries() {
        return proposedEntries.get();
    }

    long proposedCommands() {
        return proposedCommands.get();
    }

    /** Commands waiting for an entry (not yet sent). */
    int queuedCommands() {
        return queue.size();
    }

    private void run() {
        try {
            while (!closed) {
                if (carried == null) {
                    carried = queue.take();
                }
                inFlightSlots.acquire();
                PendingCommand first = carried;
                carried = null;
                propose(gather(first));
            }
        } catch (InterruptedException e) {
            // close() interrupts to stop the thread.
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // A bug, not a Raft failure: refuse further submits rather than let them wait forever.
            LOG.error("group {}: batcher stopped", groupName, e);
            closed = true;
            failQueued();
        }
    }

    /** Fills one entry starting with {@code first}; lingers only while other entries are in flight. */
    private List<PendingCommand> gather(PendingCommand first) {
        List<PendingCommand> batch = new ArrayList<>(Math.min(tuning.batchMaxCommands(), 64));
        batch.add(first);
        int bytes = EntryCodec.encodedSize(first.command().length);
        long deadlineNs = first.enqueuedNs() + TimeUnit.MILLISECONDS.toNanos(tuning.batchMaxDelayMs());
        while (batch.size() < tuning.batchMaxCommands() && bytes < tuning.batchMaxBytes()) {
            PendingCommand next = queue.poll();
            if (next == null) {
                long waitNs = deadlineNs - System.nanoTime();
                boolean othersInFlight = inFlightSlots.availablePermits() < tuning.maxEntriesInFlight() - 1;
                if (waitNs <= 0 || !othersInFlight) {
                    break;
                }
                try {
                    next = queue.poll(waitNs, TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    // Closing: send what we have (it completes or close fails it) and let run() stop.
                    Thread.currentThread().interrupt();
                    break;
                }
                if (next == null) {
                    break;
                }
            }
            int size = EntryCodec.encodedSize(next.command().length);
            if (bytes + size > tuning.batchMaxBytes()) {
                carried = next;
                break;
            }
            batch.add(next);
            bytes += size;
        }
        return batch;
    }

    private void propose(List<PendingCommand> batch) {
        List<byte[]> commands = new ArrayList<>(batch.size());
        for (PendingCommand pending : batch) {
            commands.add(pending.command());
        }
        byte[] entry = EntryCodec.encodeEntry(clockMs.getAsLong(), commands);
        proposedEntries.incrementAndGet();
        proposedCommands.addAndGet(batch.size());
        InFlightEntry inFlightEntry = new InFlightEntry(batch);
        inFlight.add(inFlightEntry);
        if (clientBroken) {
            replaceClient();
        }
        RaftClient sender = client;
        CompletableFuture<RaftClientReply> sent;
        try {
            sent = sender.async().send(Message.valueOf(UnsafeByteOperations.unsafeWrap(entry)));
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        sent.whenComplete((reply, error) -> {
            inFlightSlots.release();
            inFlight.remove(inFlightEntry);
            if (error != null && !closed && sender == client && causedBy(error, AlreadyClosedException.class)) {
                clientBroken = true; // not for the late failures of a client replaced already
            }
            complete(batch, reply, error);
        });
    }

    private void complete(List<PendingCommand> batch, RaftClientReply reply, Throwable error) {
        if (error == null && !reply.isSuccess()) {
            error = reply.getException();
        }
        if (error != null) {
            LOG.debug("group {}: entry of {} commands failed", groupName, batch.size(), error);
            for (PendingCommand pending : batch) {
                pending.reply().completeExceptionally(error);
            }
            return;
        }
        try {
            ByteBuffer content = reply.getMessage().getContent().asReadOnlyByteBuffer();
            List<EntryCodec.Outcome> outcomes = EntryCodec.decodeReplies(content);
            if (outcomes.size() != batch.size()) {
                throw new IllegalStateException(
                        "entry of " + batch.size() + " commands got " + outcomes.size() + " replies");
            }
            for (int i = 0; i < batch.size(); i++) {
                EntryCodec.Outcome outcome = outcomes.get(i);
                if (outcome.error() == null) {
                    batch.get(i).reply().complete(outcome.reply());
                } else {
                    batch.get(i).reply().completeExceptionally(new CommandFailedException(outcome.error()));
                }
            }
        } catch (RuntimeException e) {
            LOG.error("group {}: bad reply", groupName, e);
            for (PendingCommand pending : batch) {
                pending.reply().completeExceptionally(e);
            }
        }
    }

    private static boolean causedBy(Throwable error, Class<? extends Throwable> type) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (type.isInstance(cause)) {
                return true;
            }
        }
        return false;
    }

    // batcher thread
    private void replaceClient() {
        clientBroken = false;
        RaftClient broken = client;
        LOG.warn("group {}: the Ratis client gave up on an entry and closed; proposing through a new one", groupName);
        client = clients.get();
        closeQuietly(broken);
    }

    private void closeQuietly(RaftClient broken) {
        try {
            broken.close();
        } catch (java.io.IOException | RuntimeException e) {
            LOG.debug("group {}: closing a Ratis client that gave up", groupName, e);
        }
    }

    /** Closes the current Ratis client (after {@link #close}); entries it had in flight fail. */
    void closeClient() throws java.io.IOException {
        client.close();
    }

    /** Stops the thread and fails the commands not yet sent; {@link #failInFlight} does the rest. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        PendingCommand left = carried;
        carried = null;
        if (left != null) {
            left.reply().completeExceptionally(closedException());
        }
        failQueued();
    }

    /** After the client closed: fails entries whose answer will never come. */
    void failInFlight() {
        for (InFlightEntry entry : inFlight) {
            for (PendingCommand pending : entry.commands) {
                pending.reply().completeExceptionally(closedException());
            }
        }
        inFlight.clear();
    }

    private void failQueued() {
        for (PendingCommand pending; (pending = queue.poll()) != null; ) {
            pending.reply().completeExceptionally(closedException());
        }
    }

    private RaftNodeClosedException closedException() {
        return new RaftNodeClosedException(
                "raft node closed before the command to group " + groupName + " was answered");
    }
}
