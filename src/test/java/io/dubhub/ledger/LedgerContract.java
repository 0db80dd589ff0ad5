package io.dubhub.ledger;

import io.dubhub.job.Job;
import io.dubhub.job.JobOutput;
import io.dubhub.job.JobState;
import io.dubhub.job.JobTarget.TargetState;
import io.dubhub.job.ProviderCall;
import io.dubhub.job.Stage;
import io.dubhub.ledger.JobLedger.NewJob;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the pipeline relies on from the ledger, run against H2 and PostgreSQL alike (the routes
 * are not started in these profiles, so nothing else touches the rows).
 */
abstract class LedgerContract {

    @Inject
    JobLedger ledger;

    @Inject
    LedgerDataSource db;

    static NewJob newJob(String key) {
        String id = "t-" + UUID.randomUUID().toString().substring(0, 8);
        return new NewJob(id, "dublab", "inbox-dublab", key, "/tmp/in/" + id + ".mp4", id + ".mp4", 1234, "ab".repeat(32), "{\"targetLanguages\":[\"es\"]}");
    }

    @Test
    void theSameSourceIsRegisteredOnce() {
        String key = "file:/x|" + UUID.randomUUID();
        var first = ledger.register(newJob(key));
        var second = ledger.register(newJob(key));
        assertThat(first.created()).isTrue();
        assertThat(second.created()).isFalse();
        assertThat(second.job().id()).isEqualTo(first.job().id());
        assertThat(ledger.findBySourceKey(key)).map(Job::state).contains(JobState.RECEIVED);
    }

    @Test
    void aRetiredSourceKeyCanBeRegisteredAgain() {
        String key = "file:/y|" + UUID.randomUUID();
        var first = ledger.register(newJob(key));
        ledger.retireSourceKey(first.job().id());
        var again = ledger.register(newJob(key));
        assertThat(again.created()).isTrue();
        assertThat(again.job().id()).isNotEqualTo(first.job().id());
    }

    @Test
    void aLeasedJobIsNotClaimedAgainUntilReleasedOrExpired() throws Exception {
        var reg = ledger.register(newJob("file:/z|" + UUID.randomUUID()));
        String id = reg.job().id();
        // registered jobs are leased to their creator
        assertThat(ledger.claimDue(100)).doesNotContain(id);
        assertThat(ledger.holdsLease(id)).isTrue();

        ledger.release(id, Instant.now().minusSeconds(1));
        assertThat(ledger.holdsLease(id)).isFalse();
        assertThat(ledger.claimDue(100)).contains(id);
        assertThat(ledger.claimDue(100)).doesNotContain(id);

        // another replica's lease that ran out (the replica died) is taken over
        try (Connection c = db.connection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE job SET lease_owner = 'dead-replica', lease_until = ? WHERE id = ?")) {
            ps.setTimestamp(1, Timestamp.from(Instant.now().minusSeconds(5)));
            ps.setString(2, id);
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
        assertThat(ledger.claimDue(100)).contains(id);
        assertThat(ledger.holdsLease(id)).isTrue();
    }

    @Test
    void jobsNotYetDueAndEndedJobsAreNotClaimed() {
        var later = ledger.register(newJob("file:/later|" + UUID.randomUUID())).job().id();
        ledger.release(later, Instant.now().plusSeconds(3600));
        var ended = ledger.register(newJob("file:/ended|" + UUID.randomUUID())).job().id();
        ledger.setState(ended, JobState.DELIVERED, Stage.DELIVER, null, null);
        ledger.release(ended, Instant.now().minusSeconds(1));
        List<String> claimed = ledger.claimDue(1000);
        assertThat(claimed).doesNotContain(later, ended);
    }

    @Test
    void callIntentsTargetsOutputsAndEventsRoundTrip() {
        String id = ledger.register(newJob("file:/c|" + UUID.randomUUID())).job().id();
        ledger.recordIntent(id, "init-dub-group", "job", null);
        assertThat(ledger.call(id, "init-dub-group", "job")).map(ProviderCall::state).contains(ProviderCall.State.INTENT);
        ledger.recordDone(id, "init-dub-group", "job", "prj_1", "{\"uploadUrl\":\"u\"}");
        ProviderCall done = ledger.call(id, "init-dub-group", "job").orElseThrow();
        assertThat(done.done()).isTrue();
        assertThat(done.providerRef()).isEqualTo("prj_1");
        assertThat(done.detail()).contains("uploadUrl");

        ledger.upsertTarget(id, "es", "fil_1", TargetState.PENDING, null);
        ledger.upsertTarget(id, "es", null, TargetState.FAILED, "silent");
        assertThat(ledger.targets(id)).singleElement().satisfies(t -> {
            assertThat(t.providerRef()).isEqualTo("fil_1");
            assertThat(t.state()).isEqualTo(TargetState.FAILED);
            assertThat(t.reason()).isEqualTo("silent");
        });

        ledger.recordOutput(id, new JobOutput("es", "translated_mp4", "es/a.es.mp4", 10, "00"));
        ledger.recordOutput(id, new JobOutput("es", "translated_mp4", "es/a.es.mp4", 11, "11"));
        assertThat(ledger.outputs(id)).singleElement().satisfies(o -> assertThat(o.bytes()).isEqualTo(11));

        ledger.event(id, Stage.POLL, "hello");
        assertThat(ledger.events(id)).extracting(e -> e.message()).contains("hello");
    }

    @Test
    void retriesAreCountedAndEndStatesFreeTheLease() {
        String id = ledger.register(newJob("file:/r|" + UUID.randomUUID())).job().id();
        assertThat(ledger.retryLater(id, Instant.now().plusSeconds(60), "boom")).isEqualTo(1);
        assertThat(ledger.retryLater(id, Instant.now().plusSeconds(60), "boom")).isEqualTo(2);
        ledger.setState(id, JobState.FAILED, Stage.SUBMIT, "no", "provider said no");
        Job job = ledger.load(id);
        assertThat(job.state()).isEqualTo(JobState.FAILED);
        assertThat(job.finishedAt()).isNotNull();
        assertThat(job.providerMessage()).isEqualTo("provider said no");
        assertThat(ledger.countsByProviderAndState().get("dublab")).containsKey("FAILED");
    }

    @Test
    void providerHealthIsKeptUntilCleared() {
        ledger.setProviderHealth("dublab", "OUT_OF_CREDITS", "dublab: out of credits");
        assertThat(ledger.providerHealth().get("dublab")).containsExactly("OUT_OF_CREDITS", "dublab: out of credits");
        ledger.clearProviderHealth("dublab");
        assertThat(ledger.providerHealth()).doesNotContainKey("dublab");
    }
}
