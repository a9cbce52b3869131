package dev.courier.cluster.raft;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A toy replicated machine: appends each command (as text) to a list and replies with the
 * command's position in it. Records what the tests check: snapshots read, applies since start,
 * leadership calls, and whether time or index ever went backwards. Thread-safe for the test thread.
 */
final class ListMachine implements ReplicatedStateMachine {
    private final List<String> commands = new ArrayList<>();
    private final List<Boolean> leadershipCalls = new ArrayList<>();
    private long lastIndex = Long.MIN_VALUE;
    private long lastTimeMs = Long.MIN_VALUE;
    private int appliesSinceStart;
    private int snapshotsRead;
    private boolean wentBackwards;

    @Override
    public synchronized byte[] apply(long index, long timeMs, byte[] command, boolean leader) {
        if (index < lastIndex || timeMs < lastTimeMs) {
            wentBackwards = true;
        }
        lastIndex = index;
        lastTimeMs = timeMs;
        appliesSinceStart++;
        String text = new String(command, StandardCharsets.UTF_8);
        if (text.equals("boom")) {
            throw new IllegalStateException("boom rejected");
        }
        commands.add(text);
        return Integer.toString(commands.size() - 1).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public synchronized void writeSnapshot(OutputStream out) throws IOException {
        DataOutputStream data = new DataOutputStream(out);
        data.writeInt(commands.size());
        for (String command : commands) {
            data.writeUTF(command);
        }
        data.flush();
    }

    @Override
    public synchronized void readSnapshot(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        int count = data.readInt();
        commands.clear();
        for (int i = 0; i < count; i++) {
            commands.add(data.readUTF());
        }
        snapshotsRead++;
    }

    @Override
    public synchronized void leadershipChanged(boolean leader) {
        leadershipCalls.add(leader);
    }

    synchronized List<String> commands() {
        return List.copyOf(commands);
    }

    synchronized int size() {
        return commands.size();
    }

    synchronized int appliesSinceStart() {
        return appliesSinceStart;
    }

    synchronized int snapshotsRead() {
        return snapshotsRead;
    }

    synchronized List<Boolean> leadershipCalls() {
        return List.copyOf(leadershipCalls);
    }

    synchronized boolean wentBackwards() {
        return wentBackwards;
    }
}
