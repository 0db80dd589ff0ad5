package io.dubhub.provider.vugola;

import static io.dubhub.provider.ProviderJson.text;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.job.Job;
import io.dubhub.job.ProviderCall;
import io.dubhub.job.Stage;
import io.dubhub.ledger.JobLedger;
import io.dubhub.pipeline.JobData;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderException.Kind;
import io.dubhub.provider.ProviderHttp;
import io.dubhub.provider.ProviderHttp.Answer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.jboss.logging.Logger;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scheduled posts of a job's finished clips (the spec's {@code options.schedule}): one post per
 * clip and platform, sent to POST /schedule in batches of at most 25. Each batch is a
 * provider_call (intent before the POST); each post created is its own {@code schedule-post}
 * call with Vugola's post id, so the manifest and the job API list them and a cancel finds them.
 * A batch whose answer was lost is looked up in GET /schedule before it is sent again.
 */
@ApplicationScoped
public class VugolaScheduler {

    private static final Logger LOG = Logger.getLogger(VugolaScheduler.class);
    static final String OP_BATCH = "schedule";
    static final String OP_POST = "schedule-post";
    static final String OP_CANCEL = "cancel-post";
    private static final DateTimeFormatter ISO_MILLIS = DateTimeFormatter.ISO_INSTANT;

    @Inject
    ProviderHttp http;

    @Inject
    JobLedger ledger;

    @Inject
    JobData jobData;

    @Inject
    ObjectMapper json;

    @Inject
    jakarta.enterprise.inject.Instance<VugolaProvider> provider;

    /** One post to be made: which clip, where, and the media it carries. */
    record Planned(int clipIndex, String platform, String mediaUrl, String title) {
    }

    /** Schedules (once) and answers clip index → the posts made for it (platform, id, status, time or refusal). */
    public Map<Integer, List<Map<String, Object>>> schedule(Job job, VugolaOptions options, List<JsonNode> clips) {
        VugolaOptions.Schedule s = options.schedule();
        List<Planned> planned = new ArrayList<>();
        for (int i = 0; i < clips.size(); i++) {
            JsonNode clip = clips.get(i);
            int index = clip.path("clip_index").asInt(i + 1);
            String title = s.title() != null ? s.title() : text(clip, "title");
            if (title != null && title.length() > VugolaOptions.MAX_TITLE) {
                title = title.substring(0, VugolaOptions.MAX_TITLE);
            }
            for (String platform : s.platforms()) {
                planned.add(new Planned(index, platform, text(clip, "download_url"), title));
            }
        }
        String at = ISO_MILLIS.format(s.at().truncatedTo(ChronoUnit.MILLIS));
        int batches = (planned.size() + VugolaOptions.MAX_POSTS_PER_REQUEST - 1) / VugolaOptions.MAX_POSTS_PER_REQUEST;
        for (int b = 0; b < batches; b++) {
            List<Planned> batch = planned.subList(b * VugolaOptions.MAX_POSTS_PER_REQUEST,
                    Math.min(planned.size(), (b + 1) * VugolaOptions.MAX_POSTS_PER_REQUEST));
            sendBatch(job, "batch-" + (b + 1), batch, s, at);
        }
        Map<Integer, List<Map<String, Object>>> out = new LinkedHashMap<>();
        for (ProviderCall c : ledger.calls(job.id())) {
            if (!c.operation().equals(OP_POST) || !c.done()) {
                continue;
            }
            JsonNode d = jobData.tree(c.detail());
            Map<String, Object> post = new LinkedHashMap<>();
            post.put("platform", d.path("platform").asText());
            if (c.providerRef() != null) {
                post.put("postId", c.providerRef());
            }
            post.put("status", d.path("status").asText());
            post.put("scheduledAt", d.path("scheduled_at").asText(at));
            if (d.hasNonNull("refused")) {
                post.put("refused", d.get("refused").asText());
            }
            out.computeIfAbsent(d.path("clipIndex").asInt(), k -> new ArrayList<>()).add(post);
        }
        return out;
    }

    private void sendBatch(Job job, String scope, List<Planned> batch, VugolaOptions.Schedule s, String at) {
        var existing = ledger.call(job.id(), OP_BATCH, scope);
        if (existing.filter(ProviderCall::done).isPresent()) {
            return;
        }
        if (existing.isPresent() && adoptFromList(job, scope, batch, s, at)) {
            return;
        }
        if (!s.at().isAfter(Instant.now())) {
            refuse(job, scope, batch, "the scheduled time " + at + " passed before the clips were ready; nothing was posted");
            return;
        }
        ledger.recordIntent(job.id(), OP_BATCH, scope, null);
        ObjectNode body = json.createObjectNode();
        ArrayNode posts = body.putArray("posts");
        for (Planned p : batch) {
            ObjectNode post = posts.addObject();
            post.put("platform", p.platform());
            post.put("caption", s.caption());
            post.put("scheduled_at", at);
            if (p.mediaUrl() != null) {
                post.put("media_url", p.mediaUrl());
            }
            if (p.title() != null) {
                post.put("title", p.title());
            }
        }
        Answer answer;
        try {
            answer = http.call(VugolaProvider.ID, "schedule", Stage.DELIVER, "POST", vugola().uri("/schedule"), vugola().auth(), body);
        } catch (ProviderException e) {
            throw e.kind() == Kind.TRANSIENT ? lost(e.httpStatus()) : e;
        }
        if (answer.status() == 429) {
            Instant retry = VugolaErrors.retryAt(answer, Instant.now());
            throw ProviderException.waitUntil(VugolaProvider.ID, Stage.DELIVER, 429, retry,
                    VugolaProvider.WAITING + ": POST /schedule answered 429, Retry-After until " + retry);
        }
        if (answer.status() >= 500) {
            throw lost(answer.status());
        }
        if (!answer.ok()) {
            ProviderException failure = VugolaErrors.failure("POST /schedule", Stage.DELIVER, answer);
            if (failure.kind() != Kind.REJECTED) {
                throw failure;
            }
            // the clips are made and paid for: a refused schedule is recorded, not a failed job
            refuse(job, scope, batch, failure.getMessage());
            return;
        }
        List<JsonNode> created = new ArrayList<>();
        answer.body().path("posts").forEach(created::add);
        for (int i = 0; i < batch.size(); i++) {
            JsonNode made = i < created.size() ? created.get(i) : null;
            recordPost(job, batch.get(i), made == null ? null : text(made, "id"), made == null ? "unknown" : made.path("status").asText("scheduled"),
                    made == null ? at : made.path("scheduled_at").asText(at), null);
        }
        ledger.recordDone(job.id(), OP_BATCH, scope, null, answer.raw());
        ledger.event(job.id(), Stage.DELIVER, "Vugola scheduled " + created.size() + " post(s) for " + at + " ("
                + String.join(", ", s.platforms()) + ")");
    }

    /** After a lost answer: posts with our platform, caption and time that Vugola already has are ours. */
    private boolean adoptFromList(Job job, String scope, List<Planned> batch, VugolaOptions.Schedule s, String at) {
        Answer answer = http.call(VugolaProvider.ID, "list-schedule", Stage.DELIVER, "GET",
                vugola().uri("/schedule?status=scheduled&limit=100"), vugola().auth(), null);
        if (!answer.ok()) {
            throw VugolaErrors.failure("GET /schedule", Stage.DELIVER, answer);
        }
        Map<String, List<JsonNode>> byPlatform = new LinkedHashMap<>();
        for (JsonNode p : answer.body().path("posts")) {
            if (s.caption().equals(text(p, "caption")) && Instant.parse(p.path("scheduled_at").asText("1970-01-01T00:00:00Z")).equals(Instant.parse(at))) {
                byPlatform.computeIfAbsent(p.path("platform").asText(), k -> new ArrayList<>()).add(p);
            }
        }
        long wanted = batch.size();
        long found = byPlatform.values().stream().mapToLong(List::size).sum();
        if (found < wanted) {
            return false;
        }
        for (Planned p : batch) {
            JsonNode made = byPlatform.getOrDefault(p.platform(), new ArrayList<>()).remove(0);
            recordPost(job, p, text(made, "id"), made.path("status").asText("scheduled"), at, null);
        }
        ledger.recordDone(job.id(), OP_BATCH, scope, null, "found after a lost answer");
        ledger.event(job.id(), Stage.DELIVER, "found the " + wanted + " scheduled post(s) of " + scope + " at Vugola after a lost answer;"
                + " not posting them again");
        return true;
    }

    private void refuse(Job job, String scope, List<Planned> batch, String why) {
        for (Planned p : batch) {
            recordPost(job, p, null, "refused", null, why);
        }
        ledger.recordDone(job.id(), OP_BATCH, scope, null, json.createObjectNode().put("refused", why).toString());
        ledger.event(job.id(), Stage.DELIVER, "posts not scheduled: " + why);
        LOG.warnf("Job %s: posts not scheduled: %s", job.id(), why);
    }

    private void recordPost(Job job, Planned p, String postId, String status, String at, String refused) {
        ObjectNode d = json.createObjectNode();
        d.put("clipIndex", p.clipIndex());
        d.put("platform", p.platform());
        d.put("status", status);
        if (at != null) {
            d.put("scheduled_at", at);
        }
        if (refused != null) {
            d.put("refused", refused);
        }
        ledger.recordDone(job.id(), OP_POST, p.clipIndex() + ":" + p.platform(), postId, d.toString());
    }

    private ProviderException lost(int status) {
        return new ProviderException(VugolaProvider.ID, Kind.OUTCOME_UNKNOWN, Stage.DELIVER, status,
                "Vugola did not confirm POST /schedule" + (status > 0 ? " (HTTP " + status + ")" : "")
                        + "; the next attempt looks the posts up in GET /schedule before posting again", null);
    }

    // ------------------------------------------------------------------ the job API

    /** The job's posts as recorded, with Vugola's current status of each (GET /schedule/:id). */
    public List<Map<String, Object>> posts(String jobId, boolean live) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ProviderCall c : ledger.calls(jobId)) {
            if (!c.operation().equals(OP_POST)) {
                continue;
            }
            JsonNode d = jobData.tree(c.detail());
            Map<String, Object> post = new LinkedHashMap<>();
            post.put("clipIndex", d.path("clipIndex").asInt());
            post.put("platform", d.path("platform").asText());
            post.put("postId", c.providerRef());
            post.put("status", d.path("status").asText());
            post.put("scheduledAt", d.path("scheduled_at").asText(null));
            if (d.hasNonNull("refused")) {
                post.put("refused", d.get("refused").asText());
            }
            ledger.call(jobId, OP_CANCEL, c.scope()).filter(ProviderCall::done).ifPresent(x -> post.put("status", x.detail()));
            if (live && c.providerRef() != null) {
                Answer answer = http.call(VugolaProvider.ID, "get-schedule", Stage.DELIVER, "GET",
                        vugola().uri("/schedule/" + enc(c.providerRef())), vugola().auth(), null);
                if (answer.ok()) {
                    post.put("status", answer.body().path("status").asText());
                    post.put("postedAt", answer.body().path("posted_at").asText(null));
                    post.put("failureReason", answer.body().path("failure_reason").asText(null));
                } else {
                    post.put("lookup", "GET /schedule/" + c.providerRef() + " answered HTTP " + answer.status());
                }
            }
            out.add(post);
        }
        return out;
    }

    /** Cancels every post of the job that is still scheduled; 409 cannot_cancel is reported per post, not thrown. */
    public List<Map<String, Object>> cancel(String jobId) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (ProviderCall c : ledger.calls(jobId)) {
            if (!c.operation().equals(OP_POST) || c.providerRef() == null) {
                continue;
            }
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("postId", c.providerRef());
            r.put("scope", c.scope());
            if (ledger.call(jobId, OP_CANCEL, c.scope()).filter(ProviderCall::done).isPresent()) {
                r.put("result", "cancelled");
                out.add(r);
                continue;
            }
            ledger.recordIntent(jobId, OP_CANCEL, c.scope(), null);
            Answer answer = http.call(VugolaProvider.ID, "cancel-schedule", Stage.DELIVER, "DELETE",
                    vugola().uri("/schedule/" + enc(c.providerRef())), vugola().auth(), null);
            if (answer.ok()) {
                ledger.recordDone(jobId, OP_CANCEL, c.scope(), c.providerRef(), "cancelled");
                ledger.event(jobId, Stage.DELIVER, "cancelled the scheduled " + c.scope() + " post " + c.providerRef());
                r.put("result", "cancelled");
            } else if (answer.status() == 409) {
                r.put("result", "cannot_cancel: " + VugolaErrors.MEANINGS.get("cannot_cancel"));
            } else if (answer.status() == 404) {
                r.put("result", "not_found: " + VugolaErrors.MEANINGS.get("not_found"));
            } else {
                throw VugolaErrors.failure("DELETE /schedule/" + c.providerRef(), Stage.DELIVER, answer);
            }
            out.add(r);
        }
        return out;
    }

    private VugolaProvider vugola() {
        return provider.get();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
