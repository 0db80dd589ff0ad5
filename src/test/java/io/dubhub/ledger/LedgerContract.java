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

    @Inject
    BudgetLedger budgets;

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
    void jobsFurthestAlongAreClaimedFirstSoABurstOfNewFilesCannotHoldThemBack() {
        Instant longAgo = Instant.now().minus(java.time.Duration.ofDays(1));
        String fresh = ledger.register(newJob("file:/fresh|" + UUID.randomUUID())).job().id();
        ledger.release(fresh, Instant.now().minusSeconds(50)); // due before the poll: FIFO alone would take it first
        String polled = ledger.register(newJob("file:/polled|" + UUID.randomUUID())).job().id();
        ledger.setState(polled, JobState.PROCESSING, Stage.POLL, null, null);
        ledger.release(polled, Instant.now().minusSeconds(10));
        String finishing = ledger.register(newJob("file:/finishing|" + UUID.randomUUID())).job().id();
        ledger.setState(finishing, JobState.DOWNLOADING, Stage.DOWNLOAD, null, null);
        ledger.release(finishing, Instant.now().minusSeconds(5));
        // a new file that has waited for a day ranks with the polls (and before them: it is due the longest)
        String starved = ledger.register(newJob("file:/starved|" + UUID.randomUUID())).job().id();
        ledger.release(starved, longAgo);

        assertThat(ledger.claimDue(1)).containsExactly(finishing);
        assertThat(ledger.claimDue(1)).containsExactly(starved);
        assertThat(ledger.claimDue(1)).containsExactly(polled);
        assertThat(ledger.claimDue(1)).containsExactly(fresh);
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

    // ---------------------------------------------------------------- rate gates (Vugola: 5 per window, 3 running)

    @Test
    void aRateGateCountsRunningPlacesAndRequestsInTheWindow() {
        String gate = "g-" + UUID.randomUUID().toString().substring(0, 8);
        java.time.Duration window = java.time.Duration.ofMinutes(1);
        java.time.Duration recheck = java.time.Duration.ofSeconds(30);
        for (String holder : List.of("a", "b", "c")) {
            assertThat(ledger.acquireGate(gate, holder, 3, 5, window, recheck).granted()).as(holder).isTrue();
        }
        JobLedger.GateDecision fourth = ledger.acquireGate(gate, "d", 3, 5, window, recheck);
        assertThat(fourth.granted()).isFalse();
        assertThat(fourth.reason()).contains("3 of at most 3 jobs running");
        assertThat(fourth.retryAt()).isAfter(Instant.now().plusSeconds(20));
        // a holder asking again (a replay after a lost answer) needs no second place, only a request
        assertThat(ledger.acquireGate(gate, "a", 3, 5, window, recheck).granted()).isTrue();
        ledger.releaseGate(gate, "b");
        assertThat(ledger.acquireGate(gate, "d", 3, 5, window, recheck).granted()).isTrue();
        assertThat(ledger.gateHolders(gate)).containsExactlyInAnyOrder("a", "c", "d");
        // five requests in the window now (a, b, c, a, d): the sixth waits until the oldest leaves it
        ledger.releaseGate(gate, "c");
        Instant before = Instant.now();
        JobLedger.GateDecision sixth = ledger.acquireGate(gate, "e", 3, 5, window, recheck);
        assertThat(sixth.granted()).isFalse();
        assertThat(sixth.reason()).contains("5 requests in the last 60.0 s, at most 5");
        assertThat(sixth.retryAt()).isBetween(before.plus(window).minusSeconds(5), before.plus(window).plusSeconds(1));
        assertThat(ledger.gateHolders(gate)).doesNotContain("e");
    }

    @Test
    void aProviderBlockHoldsTheGateForEveryone() {
        String gate = "g-" + UUID.randomUUID().toString().substring(0, 8);
        Instant until = Instant.now().plusSeconds(30);
        ledger.blockGate(gate, until, "429 Retry-After 30");
        JobLedger.GateDecision d = ledger.acquireGate(gate, "a", 3, 5, java.time.Duration.ofMinutes(1), java.time.Duration.ofSeconds(30));
        assertThat(d.granted()).isFalse();
        assertThat(d.reason()).isEqualTo("429 Retry-After 30");
        assertThat(d.retryAt()).isBetween(until.minusMillis(1), until.plusMillis(1));
        // an earlier block does not shorten a later one
        ledger.blockGate(gate, Instant.now().plusSeconds(1), "shorter");
        assertThat(ledger.acquireGate(gate, "a", 3, 5, java.time.Duration.ofMinutes(1), java.time.Duration.ofSeconds(30)).reason())
                .isEqualTo("429 Retry-After 30");
        ledger.blockGate(gate, Instant.now().minusSeconds(1), "over");
    }

    @Test
    void concurrentAcquisitionsNeverHandOutMorePlacesOrRequestsThanAllowed() throws Exception {
        String gate = "g-" + UUID.randomUUID().toString().substring(0, 8);
        int threads = 12;
        var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        var start = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < threads; i++) {
                String holder = "h" + i;
                results.add(pool.submit(() -> {
                    start.await();
                    return ledger.acquireGate(gate, holder, 3, 5, java.time.Duration.ofMinutes(1), java.time.Duration.ofSeconds(30)).granted();
                }));
            }
            start.countDown();
            long granted = 0;
            for (var f : results) {
                if (f.get(60, java.util.concurrent.TimeUnit.SECONDS)) {
                    granted++;
                }
            }
            assertThat(granted).isEqualTo(3);
            assertThat(ledger.gateHolders(gate)).hasSize(3);
        } finally {
            pool.shutdownNow();
        }
        // and the window: 12 holders that each already hold nothing but have free places (max 100 running)
        String windowGate = "w-" + UUID.randomUUID().toString().substring(0, 8);
        var pool2 = java.util.concurrent.Executors.newFixedThreadPool(threads);
        var start2 = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.Future<Boolean>> results2 = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < threads; i++) {
                String holder = "w" + i;
                results2.add(pool2.submit(() -> {
                    start2.await();
                    return ledger.acquireGate(windowGate, holder, 100, 5, java.time.Duration.ofMinutes(1), java.time.Duration.ofSeconds(30)).granted();
                }));
            }
            start2.countDown();
            long granted = 0;
            for (var f : results2) {
                if (f.get(60, java.util.concurrent.TimeUnit.SECONDS)) {
                    granted++;
                }
            }
            assertThat(granted).isEqualTo(5);
        } finally {
            pool2.shutdownNow();
        }
    }

    @Test
    void anEndedJobsPlaceNoLongerCounts() {
        String gate = "g-" + UUID.randomUUID().toString().substring(0, 8);
        String id = ledger.register(newJob("file:/gate|" + UUID.randomUUID())).job().id();
        assertThat(ledger.acquireGate(gate, id, 1, 5, java.time.Duration.ofMinutes(1), java.time.Duration.ofSeconds(30)).granted()).isTrue();
        assertThat(ledger.acquireGate(gate, "other", 1, 5, java.time.Duration.ofMinutes(1), java.time.Duration.ofSeconds(30)).granted()).isFalse();
        ledger.setState(id, JobState.FAILED, Stage.SUBMIT, "crashed before releasing", null);
        assertThat(ledger.acquireGate(gate, "other", 1, 5, java.time.Duration.ofMinutes(1), java.time.Duration.ofSeconds(30)).granted()).isTrue();
        assertThat(ledger.gateHolders(gate)).containsExactly("other");
    }

    @Test
    void outputMetadataIsKept() {
        String id = ledger.register(newJob("file:/meta|" + UUID.randomUUID())).job().id();
        ledger.recordOutput(id, new JobOutput("en", "clip-1", "en/a.clip-01.mp4", 10, "00", "{\"title\":\"T\",\"viralityScore\":0.9}"));
        assertThat(ledger.outputs(id)).singleElement().satisfies(o -> assertThat(o.metadata()).contains("\"viralityScore\":0.9"));
    }

    @Test
    void concurrentBudgetReservationsNeverExceedTheCap() throws Exception {
        String provider = "provider:p-" + UUID.randomUUID().toString().substring(0, 8);
        String route = "route:r-" + UUID.randomUUID().toString().substring(0, 8);
        String day = "2026-11-23";
        int threads = 12;
        var pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        var start = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.Future<Boolean>> results = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < threads; i++) {
                String job = "job-" + i;
                // half name the budgets in the other order: locks are taken sorted, so no deadlock
                List<BudgetLedger.Budget> asked = i % 2 == 0
                        ? List.of(new BudgetLedger.Budget(provider, 10), new BudgetLedger.Budget(route, 100))
                        : List.of(new BudgetLedger.Budget(route, 100), new BudgetLedger.Budget(provider, 10));
                results.add(pool.submit(() -> {
                    start.await();
                    return budgets.reserve(job, day, 3, asked).granted();
                }));
            }
            start.countDown();
            long granted = 0;
            for (var f : results) {
                if (f.get(60, java.util.concurrent.TimeUnit.SECONDS)) {
                    granted++;
                }
            }
            assertThat(granted).isEqualTo(3);
            assertThat(budgets.used(provider, day)).isEqualTo(9.0);
            // all or none: the route budget holds only what the provider budget let through
            assertThat(budgets.used(route, day)).isEqualTo(9.0);
        } finally {
            pool.shutdownNow();
        }
        BudgetLedger.Decision refused = budgets.reserve("late", day, 2, List.of(new BudgetLedger.Budget(provider, 10)));
        assertThat(refused.granted()).isFalse();
        assertThat(refused.used()).isEqualTo(9.0);
        assertThat(refused.need()).isEqualTo(2.0);
        assertThat(refused.refusedBy().scope()).isEqualTo(provider);
        // another day is another budget
        assertThat(budgets.reserve("late", "2026-11-24", 2, List.of(new BudgetLedger.Budget(provider, 10))).granted()).isTrue();
    }

    @Test
    void aReservationCountsWhatTheJobSpentOnceItEnded() {
        String scope = "provider:s-" + UUID.randomUUID().toString().substring(0, 8);
        String day = "2026-11-23";
        List<BudgetLedger.Budget> cap = List.of(new BudgetLedger.Budget(scope, 10));
        String neverSubmitted = ledger.register(newJob("file:/b1|" + UUID.randomUUID())).job().id();
        String reported = ledger.register(newJob("file:/b2|" + UUID.randomUUID())).job().id();
        String unreported = ledger.register(newJob("file:/b3|" + UUID.randomUUID())).job().id();
        for (String id : List.of(neverSubmitted, reported, unreported)) {
            assertThat(budgets.reserve(id, day, 3, cap).granted()).isTrue();
        }
        // asking again (a resumed submit) keeps the reservation, does not add one
        assertThat(budgets.reserve(reported, day, 3, cap).granted()).isTrue();
        assertThat(budgets.used(scope, day)).isEqualTo(9.0);
        assertThat(budgets.reserve("more", day, 2, cap).granted()).isFalse();

        // failed before anything was submitted: its reservation is released
        ledger.setState(neverSubmitted, JobState.FAILED, Stage.SUBMIT, "balance too low", null);
        assertThat(budgets.used(scope, day)).isEqualTo(6.0);
        // the provider reported what it charged: that counts, not the estimate
        ledger.markSubmitted(reported, Instant.now().plusSeconds(60));
        ledger.setCredits(reported, 1);
        ledger.setState(reported, JobState.DELIVERED, Stage.DELIVER, null, null);
        assertThat(budgets.used(scope, day)).isEqualTo(4.0);
        // submitted, then failed, charge unknown: the estimate stays counted
        ledger.markSubmitted(unreported, Instant.now().plusSeconds(60));
        ledger.setState(unreported, JobState.FAILED, Stage.POLL, "failed at the provider", null);
        assertThat(budgets.used(scope, day)).isEqualTo(4.0);
        // a running job that reported more than it reserved counts what it reported
        String over = ledger.register(newJob("file:/b4|" + UUID.randomUUID())).job().id();
        assertThat(budgets.reserve(over, day, 2, cap).granted()).isTrue();
        ledger.setCredits(over, 5);
        assertThat(budgets.used(scope, day)).isEqualTo(9.0);
        assertThat(budgets.reserve("more", day, 2, cap).granted()).isFalse();
    }
}
