package dev.courier.cluster.raft;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.proto.RaftProtos.ServerRpcProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.raftlog.RaftLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's part of the cluster: one Ratis server (gRPC) hosting a replica of every group, one
 * {@link ReplicatedStateMachine} per group, and per group a batcher that turns submitted commands
 * into log entries. Groups are added locally on every node at start (no remote group management);
 * nodes may start in any order, and a node restarted on its data directory rejoins with its own log
 * and catches up from the leader's log or, once that was purged, from its snapshot.
 *
 * <p>Thread-safe: every method may be called from any thread. Storage: {@code dataDir/raft/<group
 * uuid>/} (Ratis log, metadata, snapshots); the log is fsynced before an entry is acknowledged.
 */
public final class RaftNode implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RaftNode.class);

    /**
     * The group that replicates the cluster's metadata (every node a voter). It is not among
     * {@link #groups()}, so queue names never hash to it; {@link #submit}, {@link #isLeader},
     * {@link #leaderOf} and {@link #status} accept it like any other group.
     */
    public static final String META_GROUP = GroupLayout.META_GROUP;

    private final ClusterConfig config;
    private final RaftServer server;
    private final Map<String, GroupHandle> groups;
    private final Map<String, StateMachineAdapter> adapters;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** One group's parts on this node. */
    private record GroupHandle(RaftGroup group, CommandBatcher batcher) {}

    private RaftNode(
            ClusterConfig config,
            RaftServer server,
            Map<String, GroupHandle> groups,
            Map<String, StateMachineAdapter> adapters) {
        this.config = config;
        this.server = server;
        this.groups = groups;
        this.adapters = adapters;
    }

    /**
     * Starts this node's Raft server and its replica of every group; returns once the groups are
     * added locally (not once they have leaders). {@code machineForGroup} is called once per group
     * name ({@link #META_GROUP} included) (again only if a group never got its first configuration and is re-created), possibly on
     * a Ratis thread.
     *
     * @throws IOException if the port cannot be bound or the data directory cannot be used (e.g.
     *     it holds groups this configuration does not define)
     */
    public static RaftNode start(ClusterConfig config, Function<String, ReplicatedStateMachine> machineForGroup)
            throws IOException {
        Objects.requireNonNull(machineForGroup, "machineForGroup");
        List<GroupLayout.PlannedGroup> plan = GroupLayout.plan(config);
        Map<RaftGroupId, String> namesById = new LinkedHashMap<>();
        plan.forEach(p -> namesById.put(p.group().getGroupId(), p.name()));
        Path storageDir = config.dataDir().resolve("raft");
        Files.createDirectories(storageDir);
        checkNoForeignGroups(storageDir, namesById);

        Map<String, StateMachineAdapter> adapters = new ConcurrentHashMap<>();
        InetSocketAddress self = config.peers().get(config.nodeId());
        RaftProperties properties = RatisProperties.server(config.tuning(), self, storageDir);
        RaftServerConfigKeys.setRemovedGroupsDir(
                properties, config.dataDir().resolve("raft-removed-groups").toFile());
        RaftServer server = RaftServer.newBuilder()
                .setServerId(RaftPeerId.valueOf(config.nodeId()))
                .setProperties(properties)
                .setStateMachineRegistry(groupId -> {
                    String name = namesById.get(groupId);
                    if (name == null) {
                        throw new IllegalStateException("no state machine for unknown group " + groupId);
                    }
                    StateMachineAdapter adapter = new StateMachineAdapter(name, machineForGroup.apply(name));
                    adapters.put(name, adapter);
                    return adapter;
                })
                .build();
        Map<String, GroupHandle> handles = new LinkedHashMap<>();
        try {
            server.start();
            addGroupsLocally(config, server, plan);
            RaftProperties clientProperties = RatisProperties.client(config.tuning());
            for (GroupLayout.PlannedGroup planned : plan) {
                java.util.function.Supplier<RaftClient> clients = () -> RaftClient.newBuilder()
                        .setProperties(clientProperties)
                        .setRaftGroup(planned.group())
                        .setClientId(ClientId.randomId())
                        .setLeaderId(RaftPeerId.valueOf(planned.preferredNode()))
                        .setRetryPolicy(RatisProperties.retryPolicy(config.tuning()))
                        .build();
                String threadName = "courier-raft-" + config.nodeId() + "-" + planned.name() + "-batcher";
                CommandBatcher batcher = new CommandBatcher(
                        threadName, planned.name(), clients, config.tuning(), System::currentTimeMillis);
                handles.put(planned.name(), new GroupHandle(planned.group(), batcher));
            }
        } catch (IOException | RuntimeException e) {
            closeAll(handles.values(), server);
            throw e;
        }
        LOG.info("raft node {} started: {} groups, peers {}", config.nodeId(), plan.size(), config.peers());
        return new RaftNode(config, server, handles, adapters);
    }

    private static void checkNoForeignGroups(Path storageDir, Map<RaftGroupId, String> namesById) throws IOException {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(storageDir, Files::isDirectory)) {
            for (Path dir : dirs) {
                RaftGroupId id;
                try {
                    id = RaftGroupId.valueOf(UUID.fromString(dir.getFileName().toString()));
                } catch (IllegalArgumentException notAGroup) {
                    continue;
                }
                if (!namesById.containsKey(id)) {
                    throw new IOException("Raft data directory " + dir + " belongs to a group this cluster"
                            + " configuration does not define (was the group count changed?)");
                }
            }
        }
    }

    /**
     * Ratis loads groups found in the storage directory by itself; adds the others. A group whose
     * directory exists but never received its first configuration (the node stopped before any
     * leader was elected) cannot rejoin, so it is set aside and created afresh: it held no entries.
     */
    private static void addGroupsLocally(ClusterConfig config, RaftServer server, List<GroupLayout.PlannedGroup> plan)
            throws IOException {
        Set<RaftGroupId> loaded = new HashSet<>();
        server.getGroupIds().forEach(loaded::add);
        RaftPeerId self = RaftPeerId.valueOf(config.nodeId());
        ClientId localClient = ClientId.randomId();
        AtomicLong callId = new AtomicLong();
        List<GroupLayout.PlannedGroup> toAdd = new ArrayList<>();
        Map<String, CompletableFuture<RaftClientReply>> removals = new LinkedHashMap<>();
        for (GroupLayout.PlannedGroup planned : plan) {
            RaftGroupId id = planned.group().getGroupId();
            if (!loaded.contains(id)) {
                toAdd.add(planned);
            } else if (server.getDivision(id).getRaftConf().getAllPeers().isEmpty()) {
                LOG.warn("group {} on {} has no configuration yet; creating it afresh", planned.name(), self);
                toAdd.add(planned);
                removals.put(
                        "remove empty group " + planned.name(),
                        server.groupManagementAsync(GroupManagementRequest.newRemove(
                                localClient, self, callId.incrementAndGet(), id, false, true)));
            }
        }
        // Each takes about a second (Ratis closes or opens a log), so they run in parallel.
        awaitAll(removals);
        Map<String, CompletableFuture<RaftClientReply>> additions = new LinkedHashMap<>();
        for (GroupLayout.PlannedGroup planned : toAdd) {
            additions.put(
                    "add group " + planned.name(),
                    server.groupManagementAsync(GroupManagementRequest.newAdd(
                            localClient, self, callId.incrementAndGet(), planned.group(), true)));
        }
        awaitAll(additions);
    }

    private static void awaitAll(Map<String, CompletableFuture<RaftClientReply>> requests) throws IOException {
        for (Map.Entry<String, CompletableFuture<RaftClientReply>> request : requests.entrySet()) {
            RaftClientReply reply;
            try {
                reply = request.getValue().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting to " + request.getKey());
            } catch (ExecutionException e) {
                throw new IOException("cannot " + request.getKey(), e.getCause());
            }
            check(reply, request.getKey());
        }
    }

    private static void check(RaftClientReply reply, String what) throws IOException {
        if (!reply.isSuccess()) {
            throw new IOException("cannot " + what + ": " + reply.getException(), reply.getException());
        }
    }

    /** This node's id. */
    public String nodeId() {
        return config.nodeId();
    }

    /**
     * The queue groups' stable names ({@code g0, g1, …}), the same on every node; the metadata group
     * {@link #META_GROUP} is not among them.
     */
    public List<String> groups() {
        return groups.keySet().stream().filter(g -> !g.equals(META_GROUP)).toList();
    }

    /**
     * Submits one command to {@code group}. It is batched with others into an entry; the future
     * completes with {@link ReplicatedStateMachine#apply}'s reply once the entry is committed on a
     * majority and applied on the replica that answered (the leader), and fails with {@link
     * CommandFailedException} if apply threw, {@link RaftNodeClosedException} if this node closed
     * first, {@link IllegalArgumentException} if the command exceeds {@link
     * RaftTuning#maxCommandBytes()}, or a Ratis exception once retries through elections ran out (an
     * entry that failed may still have been committed). Commands submitted on one node to one group
     * are committed in submission order. Never blocks; completes on a Ratis client thread.
     *
     * @throws IllegalArgumentException if there is no such group
     */
    public CompletableFuture<byte[]> submit(String group, byte[] command) {
        Objects.requireNonNull(command, "command");
        GroupHandle handle = handle(group);
        if (closed.get()) {
            return CompletableFuture.failedFuture(new RaftNodeClosedException("raft node " + nodeId() + " is closed"));
        }
        return handle.batcher().submit(command);
    }

    /**
     * Whether this replica is the group's leader in the sense {@link ReplicatedStateMachine#apply}
     * gets it: elected and caught up with the entries of earlier terms.
     */
    public boolean isLeader(String group) {
        handle(group);
        StateMachineAdapter adapter = adapters.get(group);
        return !closed.get() && adapter != null && adapter.isLeader();
    }

    /** The node this replica believes leads the group, if it knows one. */
    public Optional<String> leaderOf(String group) {
        return info(handle(group)).map(DivisionInfo::getLeaderId).map(RaftPeerId::toString);
    }

    /**
     * Per group (the queue groups, then {@link #META_GROUP}): role, leader, term, commit and applied
     * index, peers up, batching counters.
     */
    public ClusterStatus status() {
        List<ClusterStatus.GroupStatus> statuses = new ArrayList<>(groups.size());
        groups.forEach((name, handle) -> statuses.add(groupStatus(name, handle)));
        return new ClusterStatus(nodeId(), statuses);
    }

    private ClusterStatus.GroupStatus groupStatus(String name, GroupHandle handle) {
        StateMachineAdapter adapter = adapters.get(name);
        long appliedEntries = adapter == null ? 0 : adapter.appliedEntries();
        long appliedCommands = adapter == null ? 0 : adapter.appliedCommands();
        CommandBatcher batcher = handle.batcher();
        Optional<DivisionInfo> info = info(handle);
        if (info.isEmpty()) {
            return new ClusterStatus.GroupStatus(
                    name,
                    "CLOSED",
                    Optional.empty(),
                    0,
                    -1,
                    -1,
                    -1,
                    List.of(),
                    batcher.proposedEntries(),
                    batcher.proposedCommands(),
                    appliedEntries,
                    appliedCommands,
                    batcher.queuedCommands());
        }
        DivisionInfo division = info.get();
        long logStartIndex = -1;
        long commitIndex = -1;
        try {
            RaftLog log = server.getDivision(handle.group().getGroupId()).getRaftLog();
            logStartIndex = log.getStartIndex();
            commitIndex = log.getLastCommittedIndex();
        } catch (IOException e) {
            LOG.debug("group {}: no division", name, e);
        }
        return new ClusterStatus.GroupStatus(
                name,
                division.getCurrentRole().name(),
                Optional.ofNullable(division.getLeaderId()).map(RaftPeerId::toString),
                division.getCurrentTerm(),
                logStartIndex,
                commitIndex,
                division.getLastAppliedIndex(),
                peersUp(division.getRoleInfoProto()),
                batcher.proposedEntries(),
                batcher.proposedCommands(),
                appliedEntries,
                appliedCommands,
                batcher.queuedCommands());
    }

    private List<String> peersUp(RoleInfoProto role) {
        long recentMs = config.tuning().electionTimeoutMaxMs();
        List<String> up = new ArrayList<>();
        up.add(nodeId());
        List<ServerRpcProto> others = new ArrayList<>();
        if (role.getRole() == RaftPeerRole.LEADER) {
            others.addAll(role.getLeaderInfo().getFollowerInfoList());
        } else if (role.getRole() == RaftPeerRole.FOLLOWER
                && role.getFollowerInfo().hasLeaderInfo()) {
            others.add(role.getFollowerInfo().getLeaderInfo());
        }
        for (ServerRpcProto other : others) {
            String id = other.getId().getId().toStringUtf8();
            if (!id.isEmpty() && other.getLastRpcElapsedTimeMs() <= recentMs) {
                up.add(id);
            }
        }
        return up;
    }

    private Optional<DivisionInfo> info(GroupHandle handle) {
        if (closed.get()) {
            return Optional.empty();
        }
        try {
            return Optional.of(server.getDivision(handle.group().getGroupId()).getInfo());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private GroupHandle handle(String group) {
        GroupHandle handle = groups.get(group);
        if (handle == null) {
            throw new IllegalArgumentException("no Raft group '" + group + "'; groups are " + groups.keySet());
        }
        return handle;
    }

    /**
     * Stops proposing, fails submits not yet answered with {@link RaftNodeClosedException}, closes
     * the Ratis clients and server (every replica here stops; the others elect new leaders). Stops
     * every thread this node started; idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        closeAll(groups.values(), server);
        LOG.info("raft node {} closed", nodeId());
    }

    private static void closeAll(Iterable<GroupHandle> handles, RaftServer server) {
        for (GroupHandle handle : handles) {
            handle.batcher().close();
        }
        for (GroupHandle handle : handles) {
            try {
                handle.batcher().closeClient();
            } catch (IOException e) {
                LOG.warn("closing the Ratis client of {}", handle.group().getGroupId(), e);
            }
            handle.batcher().failInFlight();
        }
        try {
            server.close();
        } catch (IOException e) {
            throw new UncheckedIOException("closing the Ratis server", e);
        }
    }
}
