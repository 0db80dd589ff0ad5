package io.dubhub.provider.alugha;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.job.Job;
import io.dubhub.job.JobState;
import io.dubhub.job.Stage;
import io.dubhub.ledger.JobLedger;
import io.dubhub.webhook.WebhookTokens;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import jakarta.annotation.PreDestroy;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

import static io.dubhub.provider.ProviderJson.text;

/**
 * What an alugha status webhook may do: make its job due now, nothing else. The caller proves it
 * was given the job's webhook URL (per-job HMAC token, compared in constant time); the payload is
 * never believed: the next poll reads the video from alugha's API. The one thing taken from it is
 * a video id while a create's answer is unknown, and that is only used after alugha confirms the
 * video carries this job's id. Quick by design (two small ledger writes), so alugha gets its 2xx at once.
 */
@ApplicationScoped
public class AlughaWebhook {

    private static final Logger LOG = Logger.getLogger(AlughaWebhook.class);

    /** A status payload is a few fields; anything bigger is not read at all. */
    static final int MAX_PAYLOAD_CHARS = 64 * 1024;

    /** States in which a nudge means "read the video now". */
    private static final Set<JobState> NUDGED = EnumSet.of(JobState.SUBMITTING, JobState.PROCESSING, JobState.STUCK);

    static final Duration RENUDGE_AFTER = Duration.ofSeconds(2);

    private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "alugha-webhook-nudge");
        t.setDaemon(true);
        return t;
    });

    public enum Verdict { ACCEPTED, ENDED, BAD_TOKEN, UNKNOWN_JOB }

    @Inject
    WebhookTokens tokens;

    @Inject
    JobLedger ledger;

    @Inject
    AlughaProvider alugha;

    @Inject
    ObjectMapper json;

    public Verdict receive(String jobId, String token, String payload) {
        if (!tokens.matches(AlughaProvider.ID, jobId, token)) {
            LOG.warnf("alugha webhook for job %s refused: bad or missing token", sanitize(jobId));
            return Verdict.BAD_TOKEN;
        }
        Optional<Job> found = ledger.find(jobId).filter(j -> AlughaProvider.ID.equals(j.provider()));
        if (found.isEmpty()) {
            return Verdict.UNKNOWN_JOB;
        }
        Job job = found.get();
        if (!job.state().active()) {
            // alugha may repeat a call after the job ended: harmless, and nothing to do.
            return Verdict.ENDED;
        }
        JsonNode body = parse(payload);
        String claimed = body == null ? null : firstText(body, "status", "state", "event", "type");
        if (job.state() == JobState.SUBMITTING && job.providerRef() == null && body != null) {
            alugha.rememberHint(job, firstText(body, "videoId", "id", "video.id"));
        }
        ledger.event(jobId, job.state() == JobState.SUBMITTING ? Stage.SUBMIT : Stage.POLL, "alugha status webhook received"
                + (claimed == null ? "" : " (says '" + abbreviate(claimed) + "', not trusted)") + "; reading the video from alugha's API");
        if (NUDGED.contains(job.state())) {
            ledger.setNextAt(jobId, Instant.now());
            // A poll already in flight read the old state and will push next_at a poll interval
            // away when it ends, undoing this nudge: make the job due once more shortly after.
            later.schedule(() -> nudgeAgain(jobId), RENUDGE_AFTER.toMillis(), TimeUnit.MILLISECONDS);
        }
        return Verdict.ACCEPTED;
    }

    private void nudgeAgain(String jobId) {
        try {
            ledger.find(jobId).filter(j -> NUDGED.contains(j.state())).ifPresent(j -> ledger.setNextAt(jobId, Instant.now()));
        } catch (RuntimeException e) {
            // best effort: the regular poll reads the video anyway
            LOG.debugf("second nudge of job %s skipped: %s", jobId, e.getMessage());
        }
    }

    @PreDestroy
    void stop() {
        later.shutdownNow();
    }

    private JsonNode parse(String payload) {
        if (payload == null || payload.isBlank() || payload.length() > MAX_PAYLOAD_CHARS) {
            return null;
        }
        try {
            JsonNode node = json.readTree(payload);
            return node != null && node.isObject() ? node : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static String firstText(JsonNode body, String... fields) {
        for (String field : fields) {
            int dot = field.indexOf('.');
            String v = dot < 0 ? text(body, field) : text(body.path(field.substring(0, dot)), field.substring(dot + 1));
            if (v != null && !v.isBlank()) {
                return v;
            }
        }
        return null;
    }

    private static String abbreviate(String s) {
        String clean = s.replaceAll("[\\p{Cntrl}]", " ");
        return clean.length() > 60 ? clean.substring(0, 60) + "…" : clean;
    }

    private static String sanitize(String s) {
        return s == null ? "?" : abbreviate(s);
    }
}
