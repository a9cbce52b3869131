package dev.courier.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.courier.cluster.raft.ClusterStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Node join and leave lines: once per change, from leaders' and followers' points of view. */
class MembershipLogTest {
    private final Logger logger = (Logger) LoggerFactory.getLogger(MembershipLog.class);
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();

    @BeforeEach
    void capture() {
        logged.start();
        logger.addAppender(logged);
        logger.setLevel(Level.INFO); // the test config logs WARN and above
    }

    @AfterEach
    void release() {
        logger.detachAppender(logged);
        logger.setLevel(null);
    }

    private static ClusterStatus.GroupStatus group(String name, String role, String... up) {
        return new ClusterStatus.GroupStatus(name, role, Optional.empty(), 1, 0, 0, 0, List.of(up), 0, 0, 0, 0, 0);
    }

    private static ClusterStatus status(ClusterStatus.GroupStatus... groups) {
        return new ClusterStatus("n1", List.of(groups));
    }

    private List<String> lines() {
        List<String> out = new ArrayList<>();
        for (ILoggingEvent event : logged.list) {
            out.add(event.getLevel() + " " + event.getFormattedMessage());
        }
        logged.list.clear();
        return out;
    }

    @Test
    void shouldLogEachNodeJoiningOnceAndLeavingOnceOnALeader() {
        MembershipLog log = new MembershipLog("n1", List.of("n1", "n2", "n3"));
        ClusterStatus all = status(group("g0", "LEADER", "n1", "n2", "n3"), group("g1", "FOLLOWER", "n1", "n2"));
        assertThat(log.observe(all))
                .containsExactly(
                        new MembershipLog.Change("n2", true, false), new MembershipLog.Change("n3", true, false));
        assertThat(lines())
                .containsExactly(
                        "INFO cluster node n2 joined (seen from n1)", "INFO cluster node n3 joined (seen from n1)");
        assertThat(log.observe(all)).as("no change, no line").isEmpty();

        ClusterStatus withoutN3 = status(group("g0", "LEADER", "n1", "n2"), group("g1", "FOLLOWER", "n1", "n2"));
        assertThat(log.observe(withoutN3)).as("one missed look is not enough").isEmpty();
        assertThat(log.observe(withoutN3)).containsExactly(new MembershipLog.Change("n3", false, true));
        assertThat(lines())
                .containsExactly("WARN cluster node n3 left (n1 leads a Raft group and has not heard from it)");
        for (int i = 0; i < 5; i++) {
            assertThat(log.observe(withoutN3)).isEmpty();
        }
        assertThat(lines()).isEmpty();

        assertThat(log.observe(all)).containsExactly(new MembershipLog.Change("n3", true, true));
        assertThat(lines()).containsExactly("INFO cluster node n3 is back (seen from n1)");
        assertThat(log.observe(withoutN3)).isEmpty();
        assertThat(log.observe(all)).as("a single missed look is forgotten").isEmpty();
    }

    @Test
    void shouldTakeAbsenceAsDownOnlyFromGroupsThisNodeLeads() {
        MembershipLog log = new MembershipLog("n1", List.of("n1", "n2", "n3"));
        // a follower everywhere knows its leader n2, and nothing about n3
        ClusterStatus follower = status(group("g0", "FOLLOWER", "n1", "n2"), group("g1", "FOLLOWER", "n1", "n2"));
        for (int i = 0; i < 5; i++) {
            log.observe(follower);
        }
        assertThat(lines()).containsExactly("INFO cluster node n2 joined (seen from n1)");

        // once it leads a group and n3 still does not answer, n3 is reported
        ClusterStatus leader = status(group("g0", "LEADER", "n1", "n2"), group("g1", "FOLLOWER", "n1", "n2"));
        log.observe(leader);
        assertThat(log.observe(leader)).containsExactly(new MembershipLog.Change("n3", false, false));
        assertThat(lines())
                .containsExactly(
                        "WARN cluster node n3 is not answering (n1 leads a Raft group and has not heard from it)");

        // during an election nobody leads and nobody is heard from: nothing is concluded
        ClusterStatus candidate = status(group("g0", "CANDIDATE", "n1"), group("g1", "CANDIDATE", "n1"));
        for (int i = 0; i < 5; i++) {
            assertThat(log.observe(candidate)).as("an election proves nothing").isEmpty();
        }
    }
}
