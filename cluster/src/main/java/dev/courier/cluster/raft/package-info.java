/**
 * The Raft layer under replicated queues: a few Apache Ratis groups per cluster, each replicated on
 * every node, carrying opaque commands batched into log entries. It knows nothing about what the
 * commands mean; a {@link dev.courier.cluster.raft.ReplicatedStateMachine} per group does.
 *
 * <h2>Shape</h2>
 *
 * <ul>
 *   <li>{@link dev.courier.cluster.raft.ClusterConfig}: node id, every node's Raft address
 *       ({@code --cluster n1=host:port,...}), data directory, group count (default one per node),
 *       {@link dev.courier.cluster.raft.RaftTuning}.
 *   <li>{@link dev.courier.cluster.raft.RaftNode}: this node's Ratis server (gRPC) hosting a replica
 *       of every group. Groups {@code g0, g1, …} have ids derived from their names, so every node
 *       computes the same ones; group {@code i} prefers (Ratis priority) the {@code i}-th node in
 *       id order, so with as many groups as nodes each node leads one. Groups are added locally on
 *       each server, never through remote group management.
 *   <li>Per group and node, one batcher thread forms entries of up to 256 commands / 256 KiB, waiting
 *       up to 2 ms for more only while other entries are in flight, keeps up to 8 entries in flight
 *       through the Ratis ordered async client (which forwards to the leader), and completes each
 *       command's future with its own reply. One path per group and node keeps one node's commands
 *       to a group in submission order.
 * </ul>
 *
 * <h2>Entry and reply format</h2>
 *
 * <pre>
 * entry := version:int8 (1) timeMs:int64 count:int32 (length:int32 command)*count
 * reply := count:int32 (length:int32 bytes | -1-length:int32 utf8-error)*count
 * </pre>
 *
 * {@code timeMs} is the proposing node's clock when it formed the entry; replicas apply {@code
 * max(previous, timeMs)} so time never goes back, and that running maximum travels in snapshots so
 * every replica computes the same times.
 *
 * <h2>Durability and snapshots</h2>
 *
 * Logs live in {@code dataDir/raft/<group uuid>/}, flushed (fsync) before an entry is acknowledged.
 * After {@link dev.courier.cluster.raft.RaftTuning#snapshotThresholdEntries()} applied entries (and at
 * close) a replica writes a snapshot ({@code snapshot.<term>_<index>} plus {@code .md5}, the last two
 * kept) and purges whole closed log segments up to it, even if a follower is behind: that follower
 * then receives the snapshot, so a node that is down never makes the others' logs grow without
 * bound. A restarted node loads its latest snapshot and replays the log after it.
 *
 * <h2>Threading</h2>
 *
 * {@link dev.courier.cluster.raft.RaftNode} is thread-safe. A group's state machine sees one call at a
 * time (see {@link dev.courier.cluster.raft.ReplicatedStateMachine}); submit futures complete on Ratis
 * client threads. {@link dev.courier.cluster.raft.RaftNode#close()} stops the batcher threads (named
 * {@code courier-raft-<node>-<group>-batcher}) and the Ratis server with its threads (named after the
 * node id by Ratis); a closed server takes about a second, as each Ratis log worker polls its queue
 * once a second.
 */
package dev.courier.cluster.raft;
