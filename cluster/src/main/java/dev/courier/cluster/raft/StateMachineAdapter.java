package dev.courier.cluster.raft;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.AtomicFileOutputStream;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one group's {@link ReplicatedStateMachine} inside Ratis: decodes batched entries and applies
 * their commands one by one, keeps the entry time monotonic, takes and loads snapshots (one file
 * per snapshot in Ratis' {@link SimpleStateMachineStorage}) and reports leadership.
 *
 * <p>Ratis calls it from several threads (the group's apply thread for entries and snapshots,
 * election and RPC threads for leadership); every call into the machine holds {@link #lock} so the
 * machine sees them one at a time.
 *
 * <p>Snapshot file: {@code magic:int32 ("CRSN") version:int32 (1) lastTimeMs:int64} followed by
 * what {@link ReplicatedStateMachine#writeSnapshot} wrote; an {@code .md5} file next to it.
 */
final class StateMachineAdapter extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(StateMachineAdapter.class);
    private static final int SNAPSHOT_MAGIC = 0x4352534E;
    private static final int SNAPSHOT_VERSION = 1;

    private final String groupName;
    private final ReplicatedStateMachine machine;
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final Object lock = new Object();
    private final AtomicLong appliedEntries = new AtomicLong();
    private final AtomicLong appliedCommands = new AtomicLong();
    private final AtomicLong snapshotsLoaded = new AtomicLong();

    // Guarded by lock: part of the replicated state (travels in snapshots).
    private long lastTimeMs = Long.MIN_VALUE;
    // Written under lock; volatile for RaftNode.isLeader.
    private volatile boolean leader;

    StateMachineAdapter(String groupName, ReplicatedStateMachine machine) {
        this.groupName = groupName;
        this.machine = Objects.requireNonNull(machine, "machine for group " + groupName);
    }

    long appliedEntries() {
        return appliedEntries.get();
    }

    long appliedCommands() {
        return appliedCommands.get();
    }

    boolean isLeader() {
        return leader;
    }

    long snapshotsLoaded() {
        return snapshotsLoaded.get();
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        getLifeCycle().transition(LifeCycle.State.STARTING);
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        synchronized (lock) {
            loadLatestSnapshot();
        }
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    @Override
    public SimpleStateMachineStorage getStateMachineStorage() {
        return storage;
    }

    /** Before a snapshot from the leader replaces the state (Ratis checks for PAUSED). */
    @Override
    public void pause() {
        synchronized (lock) {
            getLifeCycle().transition(LifeCycle.State.PAUSING);
            getLifeCycle().transition(LifeCycle.State.PAUSED);
        }
    }

    /** After a snapshot from the leader was installed: load it. */
    @Override
    public void reinitialize() throws IOException {
        synchronized (lock) {
            loadLatestSnapshot();
            if (getLifeCycleState() == LifeCycle.State.PAUSED) {
                getLifeCycle().transition(LifeCycle.State.STARTING);
                getLifeCycle().transition(LifeCycle.State.RUNNING);
            }
        }
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        long index = entry.getIndex();
        synchronized (lock) {
            try {
                EntryCodec.Entry decoded = EntryCodec.decodeEntry(
                        entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
                lastTimeMs = Math.max(lastTimeMs, decoded.timeMs());
                List<EntryCodec.Outcome> outcomes =
                        new ArrayList<>(decoded.commands().size());
                for (byte[] command : decoded.commands()) {
                    outcomes.add(applyOne(index, command));
                }
                appliedEntries.incrementAndGet();
                appliedCommands.addAndGet(outcomes.size());
                byte[] replies = EntryCodec.encodeReplies(outcomes);
                return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(replies)));
            } catch (RuntimeException e) {
                LOG.error("group {}: cannot decode entry {}", groupName, index, e);
                return CompletableFuture.failedFuture(e);
            } finally {
                updateLastAppliedTermIndex(entry.getTerm(), index);
            }
        }
    }

    // Lock should be held.
    private EntryCodec.Outcome applyOne(long index, byte[] command) {
        try {
            byte[] reply = machine.apply(index, lastTimeMs, command, leader);
            return new EntryCodec.Outcome(Objects.requireNonNull(reply, "apply returned null"), null);
        } catch (RuntimeException e) {
            LOG.error("group {}: apply failed at index {}", groupName, index, e);
            return EntryCodec.Outcome.failed(e.toString());
        }
    }

    @Override
    public long takeSnapshot() throws IOException {
        synchronized (lock) {
            TermIndex last = getLastAppliedTermIndex();
            if (last == null || last.getIndex() < 0) {
                return RaftLog.INVALID_LOG_INDEX;
            }
            File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
            AtomicFileOutputStream fileOut = new AtomicFileOutputStream(file);
            try {
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(fileOut, 64 * 1024));
                out.writeInt(SNAPSHOT_MAGIC);
                out.writeInt(SNAPSHOT_VERSION);
                out.writeLong(lastTimeMs);
                machine.writeSnapshot(new UnclosableOutputStream(out));
                out.flush();
            } catch (IOException | RuntimeException e) {
                fileOut.abort();
                throw e;
            }
            fileOut.close();
            MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
            storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), md5), last));
            LOG.debug("group {}: snapshot at {}", groupName, last);
            return last.getIndex();
        }
    }

    // Lock should be held.
    private void loadLatestSnapshot() throws IOException {
        SingleFileSnapshotInfo snapshot = storage.loadLatestSnapshot();
        if (snapshot == null) {
            return;
        }
        File file = snapshot.getFile().getPath().toFile();
        MD5Hash md5 = snapshot.getFile().getFileDigest();
        if (md5 != null) {
            MD5FileUtil.verifySavedMD5(file, md5);
        }
        try (DataInputStream in =
                new DataInputStream(new BufferedInputStream(Files.newInputStream(file.toPath()), 64 * 1024))) {
            int magic = in.readInt();
            int version = in.readInt();
            if (magic != SNAPSHOT_MAGIC || version != SNAPSHOT_VERSION) {
                throw new IOException("group " + groupName + ": " + file + " is not a snapshot this version reads"
                        + " (magic " + Integer.toHexString(magic) + ", version " + version + ")");
            }
            long timeMs = in.readLong();
            machine.readSnapshot(in);
            lastTimeMs = timeMs;
        }
        setLastAppliedTermIndex(snapshot.getTermIndex());
        snapshotsLoaded.incrementAndGet();
        LOG.info("group {}: loaded snapshot {}", groupName, snapshot.getTermIndex());
    }

    @Override
    public void notifyLeaderReady() {
        setLeader(true);
    }

    @Override
    public void notifyNotLeader(Collection<TransactionContext> pendingEntries) {
        setLeader(false);
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId memberId, RaftPeerId newLeaderId) {
        if (!memberId.getPeerId().equals(newLeaderId)) {
            setLeader(false);
        }
    }

    @Override
    public void close() {
        setLeader(false);
    }

    private void setLeader(boolean newLeader) {
        synchronized (lock) {
            if (leader == newLeader) {
                return;
            }
            leader = newLeader;
            try {
                machine.leadershipChanged(newLeader);
            } catch (RuntimeException e) {
                LOG.error("group {}: leadershipChanged({}) failed", groupName, newLeader, e);
            }
        }
    }

    /** Lets the machine close what it wraps around our stream without closing (committing) the file. */
    private static final class UnclosableOutputStream extends FilterOutputStream {
        UnclosableOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
