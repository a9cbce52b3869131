package dev.courier.server;

import dev.courier.broker.ReplicatedDefinitions;
import dev.courier.cluster.meta.MetaChange;
import dev.courier.cluster.meta.MetadataListener;
import dev.courier.server.amqp.ManagedConnection;
import dev.courier.server.auth.UserDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;

/**
 * Hands each change of the cluster's metadata group to its owner on this node: vhosts, exchanges
 * and bindings to the broker's {@link ReplicatedDefinitions}, users and permissions to the {@link
 * UserDatabase}. Each owner sees its changes in log order; a vhost deleted (through any node)
 * also closes this node's connections to it, as RabbitMQ does. Runs on the group's apply thread.
 */
final class MetadataDispatcher implements MetadataListener {
    private final ReplicatedDefinitions definitions;
    private final UserDatabase users;
    private final Set<Object> connections;

    MetadataDispatcher(ReplicatedDefinitions definitions, UserDatabase users, Set<Object> connections) {
        this.definitions = definitions;
        this.users = users;
        this.connections = connections;
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
            for (MetaChange change : broker) {
                String vhost = ReplicatedDefinitions.deletedVhost(change);
                if (vhost != null) {
                    closeConnectionsTo(vhost);
                }
            }
        }
        if (!auth.isEmpty()) {
            users.changed(auth);
        }
    }

    /** Asks each connection for its vhost on its own event loop; never blocks this thread. */
    private void closeConnectionsTo(String vhost) {
        for (Object connection : connections) {
            if (connection instanceof ManagedConnection managed) {
                managed.describe().thenAccept(info -> {
                    if (info != null && info.vhost().equals(vhost)) {
                        managed.forceClose("vhost '" + vhost + "' is deleted");
                    }
                });
            }
        }
    }

    @Override
    public void restored(SortedMap<String, byte[]> map) {
        definitions.restored(map);
        users.restored(map);
    }
}
