package dev.courier.server;

import dev.courier.broker.ReplicatedDefinitions;
import dev.courier.cluster.meta.MetaChange;
import dev.courier.cluster.meta.MetadataListener;
import dev.courier.server.auth.UserDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;

/**
 * Hands each change of the cluster's metadata group to its owner on this node: vhosts, exchanges
 * and bindings to the broker's {@link ReplicatedDefinitions}, users and permissions to the {@link
 * UserDatabase}. Each owner sees its changes in log order. Runs on the group's apply thread.
 */
final class MetadataDispatcher implements MetadataListener {
    private final ReplicatedDefinitions definitions;
    private final UserDatabase users;

    MetadataDispatcher(ReplicatedDefinitions definitions, UserDatabase users) {
        this.definitions = definitions;
        this.users = users;
    }

    @Override
    public void changed(List<MetaChange> changes) {
        List<MetaChange> broker = new ArrayList<>(changes.size());
        List<MetaChange> auth = new ArrayList<>(changes.size());
        for (MetaChange change : changes) {
            if (ReplicatedDefinitions.owns(change.key())) {
                broker.add(change);
            } else if (UserDatabase.owns(change.key())) {
                auth.add(change);
            }
        }
        if (!broker.isEmpty()) {
            definitions.changed(broker);
        }
        if (!auth.isEmpty()) {
            users.changed(auth);
        }
    }

    @Override
    public void restored(SortedMap<String, byte[]> map) {
        definitions.restored(map);
        users.restored(map);
    }
}
