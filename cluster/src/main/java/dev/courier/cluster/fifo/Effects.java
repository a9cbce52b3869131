package dev.courier.cluster.fifo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Collects, in order, the effects of the commands applied to a {@link QueueGroupState}. Owned by
 * the thread that applies commands; reuse it with {@link #clear()}.
 */
public final class Effects {
    private final List<Effect> effects = new ArrayList<>();

    public void add(Effect effect) {
        effects.add(effect);
    }

    /** The effects so far, oldest first; a read-only view that changes with this object. */
    public List<Effect> list() {
        return Collections.unmodifiableList(effects);
    }

    public int size() {
        return effects.size();
    }

    public boolean isEmpty() {
        return effects.isEmpty();
    }

    public void clear() {
        effects.clear();
    }

    @Override
    public String toString() {
        return effects.toString();
    }
}
