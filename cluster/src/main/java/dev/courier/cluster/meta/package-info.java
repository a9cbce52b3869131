/**
 * The cluster's metadata group: a key-value map replicated to every node through one Raft group
 * ({@link dev.courier.cluster.raft.RaftNode#META_GROUP}, every node a voter, not one of the groups
 * queue names hash over).
 *
 * <ul>
 *   <li>{@link dev.courier.cluster.meta.MetaBatch}: puts and deletes (also by key prefix) applied
 *       atomically, guarded by conditions ({@code ExpectPresent}, {@code ExpectNoPrefix}, {@code
 *       PutIfAbsent}) checked against the map before the batch; a rejected batch changes nothing and
 *       answers what was in force, so two nodes declaring the same thing differently are decided by
 *       the log order.
 *   <li>{@link dev.courier.cluster.meta.ReplicatedMetadata}: submit from any node; the future
 *       completes once the entry is committed and applied on the submitting node, so its listener
 *       has seen the change. Reads ({@code get}, {@code prefix}) see what this node has applied.
 *   <li>{@link dev.courier.cluster.meta.MetadataListener}: every node hears every applied change,
 *       and the whole map when it is restored from a snapshot (at start, or installed from the
 *       leader), to reconcile its local state with it.
 * </ul>
 *
 * The machine is deterministic (no clock, sorted iteration) and its snapshot holds the map and the
 * last applied index. What keys mean is the broker's and the server's business.
 */
package dev.courier.cluster.meta;
