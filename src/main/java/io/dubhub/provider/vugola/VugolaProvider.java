package io.dubhub.provider.vugola;

import static io.dubhub.provider.ProviderJson.jsonField;
import static io.dubhub.provider.ProviderJson.text;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dubhub.config.HubConfig;
import io.dubhub.job.Job;
import io.dubhub.job.JobRejectedException;
import io.dubhub.job.JobSpec;
import io.dubhub.job.JobTarget;
import io.dubhub.job.JobTarget.TargetState;
import io.dubhub.job.ProviderCall;
import io.dubhub.job.Stage;
import io.dubhub.ledger.JobLedger;
import io.dubhub.ledger.JobLedger.GateDecision;
import io.dubhub.media.MediaInfo;
import io.dubhub.pipeline.JobData;
import io.dubhub.provider.OutputLink;
import io.dubhub.provider.PollOutcome;
import io.dubhub.provider.PollOutcome.LanguageStatus;
import io.dubhub.provider.PollOutcome.Status;
import io.dubhub.provider.ProviderAdapter;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderException.Kind;
import io.dubhub.provider.ProviderHttp;
import io.dubhub.provider.ProviderHttp.Answer;
import io.dubhub.staging.StagedFiles;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Vugola (shared/providers/vugola-api-v1.md): the hub stages the source at a URL, checks the
 * credits (GET /status), takes a place in the ledger's rate gate (5 create requests a rolling
 * minute, 3 jobs running at once, shared by every replica), then POST /clip or /caption; polls
 * GET /clip/:job_id every 30-60 s; downloads each clip with its title, duration and virality
 * score; optionally schedules the clips as posts (see {@link VugolaScheduler}).
 *
 * <p>No duplicate jobs: the intent (with the exact request) is written before the POST. A POST
 * whose answer was lost or was a 5xx is never simply sent again: Vugola has no job listing, and
 * its documented look-up is the duplicate rule, so the next attempt sends the identical
 * video_url + aspect_ratio + caption_style, which Vugola answers with the existing job and
 * {@code "duplicate": true} (no extra credits) when the first one got through.
 */
@ApplicationScoped
@Named("vugola")
public class VugolaProvider implements ProviderAdapter {

    public static final String ID = "vugola";
    private static final Logger LOG = Logger.getLogger(VugolaProvider.class);

    /** The ledger gate all Vugola create calls go through. */
    public static final String GATE = "vugola";
    /** "Clipping requests: 5 / minute". */
    public static final int MAX_REQUESTS_PER_WINDOW = 5;
    /** "Concurrent jobs: 3". */
    public static final int MAX_RUNNING = 3;
    /** "Poll GET /clip/:job_id every 30–60 seconds". */
    public static final Duration MAX_POLL_INTERVAL = Duration.ofSeconds(60);
    /** Clipping takes videos of 5 minutes to 2 hours; captions up to 5 minutes. */
    static final Duration MIN_CLIP_SOURCE = Duration.ofMinutes(5);
    static final Duration MAX_CLIP_SOURCE = Duration.ofHours(2);
    static final Duration MAX_CAPTION_SOURCE = Duration.ofMinutes(5);

    static final String OP_CREATE = "create-job";
    static final String WAITING = "waiting for Vugola rate limit";

    @Inject
    io.dubhub.staging.SourceUrls sourceUrls;

    @Inject
    HubConfig config;

    @Inject
    ProviderHttp http;

    @Inject
    JobLedger ledger;

    @Inject
    JobData jobData;

    @Inject
    StagedFiles staged;

    @Inject
    VugolaScheduler scheduler;

    @Inject
    ObjectMapper json;

    HubConfig.Vugola cfg() {
        return config.providers().vugola();
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public Map<String, String> endpoints() {
        return Map.of("HUB_PROVIDERS_VUGOLA_BASE_URL", cfg().baseUrl());
    }

    @Override
    public Optional<String> missingConfig() {
        return cfg().apiKey().filter(k -> !k.isBlank()).isPresent() ? Optional.empty() : Optional.of("HUB_PROVIDERS_VUGOLA_API_KEY");
    }

    /** The configured interval, clamped into the doc's 30-60 s (the floor is lowered in tests only). */
    @Override
    public Duration pollInterval() {
        Duration configured = cfg().pollInterval();
        Duration floor = cfg().pollFloor();
        if (configured.compareTo(floor) < 0) {
            return floor;
        }
        return configured.compareTo(MAX_POLL_INTERVAL) > 0 ? MAX_POLL_INTERVAL : configured;
    }

    @Override
    public Duration pollDeadline() {
        return cfg().pollDeadline();
    }

    /**
     * The window the gate counts in: the configured one plus a second (or 1/60 of it, if more),
     * because the gate stamps a request before it is sent and Vugola counts it when it arrives.
     */
    Duration gateWindow() {
        Duration slack = cfg().rateWindow().dividedBy(60);
        return cfg().rateWindow().plus(slack.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : slack);
    }

    /** The doc's pricing: max(1, ceil(video minutes)) for clips, 1 per started minute for captions. */
    @Override
    public java.util.OptionalDouble estimateCredits(Job job, JobSpec spec, MediaInfo media) {
        if (media.duration() == null) {
            return java.util.OptionalDouble.empty();
        }
        return java.util.OptionalDouble.of(cost(VugolaOptions.parse(spec.options(), job.createdAt()), media.duration()));
    }

    @Override
    public void validate(Job job, JobSpec spec, MediaInfo media) {
        VugolaOptions options = VugolaOptions.parse(spec.options(), Instant.now());
        if (spec.targetLanguages().size() != 1) {
            throw new JobRejectedException(Stage.VALIDATE, "Vugola clips and captions a video in its own language; give exactly one"
                    + " targetLanguages entry (the spoken language, used to file the outputs), not " + String.join(", ", spec.targetLanguages()));
        }
        if (media.duration() == null) {
            throw new JobRejectedException(Stage.VALIDATE, "Vugola needs to know how long the video is (unknown_duration), and it could"
                    + " not be measured from this " + media.describe() + "; convert it to MP4 and drop it again");
        }
        if (options.caption() && media.duration().compareTo(MAX_CAPTION_SOURCE) > 0) {
            throw new JobRejectedException(Stage.VALIDATE, "the video is " + human(media.duration()) + " long; Vugola captions videos of at most"
                    + " 5:00 (POST /caption); use mode \"clip\" for longer videos");
        }
        if (!options.caption() && media.duration().compareTo(MIN_CLIP_SOURCE) < 0) {
            throw new JobRejectedException(Stage.VALIDATE, "the video is " + human(media.duration()) + " long; Vugola clips videos of 5:00"
                    + " to 2:00:00 (video_too_short); use mode \"caption\" for short videos");
        }
        if (!options.caption() && media.duration().compareTo(MAX_CLIP_SOURCE) > 0) {
            throw new JobRejectedException(Stage.VALIDATE, "the video is " + human(media.duration()) + " long; Vugola clips videos of at most"
                    + " 2:00:00 (video_too_long)");
        }
        if (options.schedule() != null && !options.caption() && media.duration().compareTo(MIN_CLIP_SOURCE) >= 0) {
            LOG.debugf("Job %s: clips will be scheduled to %s at %s", job.id(), options.schedule().platforms(), options.schedule().at());
        }
    }

    /** What the job costs: max(1, ceil(minutes)) for clips, one credit a started minute for captions. */
    static long cost(VugolaOptions options, Duration duration) {
        long minutes = (duration.toMillis() + 59_999) / 60_000;
        return Math.max(1, minutes);
    }

    static String costArithmetic(VugolaOptions options, Duration duration) {
        double minutes = duration.toMillis() / 60_000.0;
        return options.caption()
                ? String.format(Locale.ROOT, "ceil(%.2f min) = %d (1 credit per started minute, captions of a %s video)",
                minutes, cost(options, duration), human(duration))
                : String.format(Locale.ROOT, "max(1, ceil(%.2f min)) = %d (clipping a %s video)", minutes, cost(options, duration), human(duration));
    }

    // ------------------------------------------------------------------ submit

    /** Credits, gate, intent, POST; after a lost answer the identical request again (duplicate-safe). */
    public void submit(Job job) {
        Optional<ProviderCall> call = ledger.call(job.id(), OP_CREATE, "job");
        if (call.filter(ProviderCall::done).isPresent()) {
            return;
        }
        JobSpec spec = jobData.spec(job);
        MediaInfo media = jobData.media(job);
        VugolaOptions options = VugolaOptions.parse(spec.options(), job.createdAt());
        boolean replay = call.isPresent() && jsonField(call.get().detail(), "videoUrl") != null;
        if (!replay) {
            checkCredits(job, options, media);
        }
        GateDecision gate = ledger.acquireGate(GATE, job.id(), MAX_RUNNING, MAX_REQUESTS_PER_WINDOW, gateWindow(), pollInterval());
        if (!gate.granted()) {
            throw ProviderException.waitUntil(ID, Stage.SUBMIT, 0, gate.retryAt(), WAITING + ": " + gate.reason());
        }
        ledger.clearReason(job.id());
        ObjectNode request;
        if (replay) {
            request = (ObjectNode) jobData.tree(call.get().detail());
        } else {
            request = json.createObjectNode();
            request.put("videoUrl", stagedSource(job).toString());
            request.put("endpoint", options.endpoint());
            ledger.recordIntent(job.id(), OP_CREATE, "job", request.toString());
        }
        ObjectNode body = json.createObjectNode();
        body.put("video_url", request.get("videoUrl").asText());
        body.put("aspect_ratio", options.aspectRatio());
        body.put("caption_style", options.captionStyle());
        if (options.captionColor() != null) {
            body.put("caption_color", options.captionColor());
        }
        String operation = "POST " + options.endpoint();
        Answer answer;
        try {
            answer = http.call(ID, options.caption() ? "caption" : "clip", Stage.SUBMIT, "POST", uri(options.endpoint()), auth(), body);
        } catch (ProviderException e) {
            if (e.kind() == Kind.TRANSIENT) {
                throw unknownOutcome(operation, e.httpStatus(), e.getMessage());
            }
            throw e;
        }
        if (answer.status() == 429) {
            Instant at = VugolaErrors.retryAt(answer, Instant.now());
            String why = "Vugola answered 429 (" + VugolaErrors.said(answer) + "), Retry-After until " + at;
            ledger.blockGate(GATE, at, why);
            throw ProviderException.waitUntil(ID, Stage.SUBMIT, 429, at, WAITING + ": " + why);
        }
        if (answer.status() >= 500) {
            throw unknownOutcome(operation, answer.status(), VugolaErrors.said(answer));
        }
        if (!answer.ok()) {
            throw VugolaErrors.failure(operation, Stage.SUBMIT, answer);
        }
        String jobId = text(answer.body(), "job_id");
        if (jobId == null) {
            throw unknownOutcome(operation, answer.status(), "the answer has no job_id: " + answer.raw());
        }
        boolean duplicate = answer.body().path("duplicate").asBoolean(false);
        request.put("duplicate", duplicate);
        ledger.recordDone(job.id(), OP_CREATE, "job", jobId, request.toString());
        ledger.setProviderRef(job.id(), jobId, null);
        String language = spec.targetLanguages().get(0);
        ledger.upsertTarget(job.id(), language, jobId, TargetState.RUNNING, null);
        ledger.event(job.id(), Stage.SUBMIT, duplicate
                ? "Vugola answered " + operation + " with its existing job " + jobId + " (duplicate: true, no extra credits):"
                + " the earlier request had got through although its answer was lost"
                : "Vugola " + (options.caption() ? "caption" : "clipping") + " job " + jobId + " started ("
                + options.aspectRatio() + ", " + options.captionStyle() + "; " + gate.running() + " of " + MAX_RUNNING + " running, "
                + gate.inWindow() + " of " + MAX_REQUESTS_PER_WINDOW + " requests in the window)");
    }

    private ProviderException unknownOutcome(String operation, int status, String said) {
        return new ProviderException(ID, Kind.OUTCOME_UNKNOWN, Stage.SUBMIT, status,
                "Vugola did not confirm " + operation + (status > 0 ? " (HTTP " + status + ")" : "") + "; the job may exist, so the next"
                        + " attempt sends the identical request, which Vugola answers with the existing job (duplicate: true)"
                        + " instead of charging twice", said);
    }

    /** GET /status; a job that costs more than remains fails here, before anything is created. */
    void checkCredits(Job job, VugolaOptions options, MediaInfo media) {
        Answer answer = http.call(ID, "status", Stage.SUBMIT, "GET", uri("/status"), auth(), null);
        if (answer.status() == 429) {
            throw ProviderException.waitUntil(ID, Stage.SUBMIT, 429, VugolaErrors.retryAt(answer, Instant.now()),
                    WAITING + ": GET /status answered 429");
        }
        if (!answer.ok()) {
            throw VugolaErrors.failure("GET /status", Stage.SUBMIT, answer);
        }
        long remaining = answer.body().path("credits_remaining").asLong(-1);
        long cost = cost(options, media.duration());
        if (remaining >= 0 && cost > remaining) {
            throw new ProviderException(ID, Kind.OUT_OF_CREDITS, Stage.SUBMIT, answer.status(),
                    "not enough Vugola credits: this job needs " + costArithmetic(options, media.duration()) + " credits, the account ("
                            + answer.body().path("plan").asText("?") + " plan) has " + remaining + " left; nothing was submitted."
                            + " Top up, then drop the file again", answer.raw());
        }
        ledger.event(job.id(), Stage.SUBMIT, "Vugola credits: " + remaining + " left, this job needs " + costArithmetic(options, media.duration()));
    }

    /** A URL Vugola can fetch: a presigned GET for bucket sources, the hub's signed /staged/ link otherwise. */
    URI stagedSource(Job job) {
        return sourceUrls.forProvider(job, cfg().stagedLinkTtl());
    }

    // ------------------------------------------------------------------ follow

    public PollOutcome status(Job job) {
        JobTarget target = ledger.targets(job.id()).get(0);
        Answer answer = http.call(ID, "clip-status", Stage.POLL, "GET", uri("/clip/" + job.providerRef()), auth(), null);
        if (answer.status() == 429) {
            throw ProviderException.waitUntil(ID, Stage.POLL, 429, VugolaErrors.retryAt(answer, Instant.now()),
                    WAITING + ": GET /clip answered 429");
        }
        if (answer.status() == 404) {
            ledger.releaseGate(GATE, job.id());
            return one(target, Status.FAILED, "Vugola no longer knows job " + job.providerRef() + " (not_found)");
        }
        if (!answer.ok()) {
            throw VugolaErrors.failure("GET /clip/" + job.providerRef(), Stage.POLL, answer);
        }
        JsonNode b = answer.body();
        String status = b.path("status").asText("");
        switch (status) {
            case "complete" -> {
                ledger.releaseGate(GATE, job.id());
                if (b.hasNonNull("credits_used")) {
                    ledger.setCredits(job.id(), b.get("credits_used").asDouble());
                }
                ledger.setProviderData(job.id(), b.toString());
                int clips = b.path("clips").size();
                return one(target, Status.DONE, "complete: " + clips + (b.path("mode").asText("").equals("captions")
                        ? " captioned video" : " clip(s)") + (b.hasNonNull("credits_used") ? ", " + b.get("credits_used").asText() + " credits" : ""));
            }
            case "failed" -> {
                ledger.releaseGate(GATE, job.id());
                return one(target, Status.FAILED, VugolaErrors.describeJobError(text(b, "error")));
            }
            case "processing" -> {
                StringBuilder what = new StringBuilder("processing");
                if (b.hasNonNull("progress")) {
                    what.append(' ').append(b.get("progress").asInt()).append('%');
                }
                if (b.hasNonNull("clips_total")) {
                    what.append(", ").append(b.path("clips_ready").asInt(0)).append(" of ").append(b.get("clips_total").asInt()).append(" clips ready");
                }
                return one(target, Status.RUNNING, what.toString());
            }
            default -> {
                LOG.warnf("Vugola answered an undocumented status '%s' for job %s; treating it as still running", status, job.providerRef());
                return one(target, Status.RUNNING, "Vugola status '" + status + "'");
            }
        }
    }

    private static PollOutcome one(JobTarget target, Status status, String detail) {
        Map<String, LanguageStatus> languages = new LinkedHashMap<>();
        languages.put(target.language(), new LanguageStatus(status, detail));
        return new PollOutcome(languages, detail);
    }

    // ------------------------------------------------------------------ outputs

    /** Every clip (or the captioned video) with fresh links; scheduled as posts first when the spec asks. */
    public List<OutputLink> outputs(Job job) {
        JobSpec spec = jobData.spec(job);
        VugolaOptions options = VugolaOptions.parse(spec.options(), job.createdAt());
        String language = spec.targetLanguages().get(0);
        List<JsonNode> clips = clips(job);
        Map<Integer, List<Map<String, Object>>> posts = options.schedule() == null ? Map.of() : scheduler.schedule(job, options, clips);
        List<OutputLink> links = new ArrayList<>();
        for (int i = 0; i < clips.size(); i++) {
            JsonNode clip = clips.get(i);
            int index = clip.path("clip_index").asInt(i + 1);
            URI url = URI.create(clip.path("download_url").asText());
            Map<String, Object> metadata = new LinkedHashMap<>();
            metadata.put("clipIndex", index);
            putIfPresent(metadata, "clipId", clip.get("clip_id"));
            putIfPresent(metadata, "title", clip.get("title"));
            putIfPresent(metadata, "durationSeconds", clip.get("duration"));
            putIfPresent(metadata, "viralityScore", clip.get("virality_score"));
            if (posts.containsKey(index)) {
                metadata.put("scheduledPosts", posts.get(index));
            }
            String type = options.caption() ? "captioned" : "clip-" + index;
            String name = job.sourceStem() + (options.caption() ? ".captioned.mp4" : String.format(Locale.ROOT, ".clip-%02d.mp4", index));
            links.add(new OutputLink(language, type, url, name, job.providerRef() + "#" + index, headersFor(url), metadata));
        }
        if (links.isEmpty()) {
            throw new ProviderException(ID, Kind.REJECTED, Stage.DOWNLOAD, 200, "Vugola reported job " + job.providerRef()
                    + " complete but listed no clips", null);
        }
        return links;
    }

    @Override
    public OutputLink refresh(Job job, OutputLink expired) {
        int index = Integer.parseInt(expired.providerRef().substring(expired.providerRef().lastIndexOf('#') + 1));
        for (JsonNode clip : downloadAll(job)) {
            if (clip.path("clip_index").asInt(-1) == index) {
                URI fresh = URI.create(clip.path("download_url").asText());
                return expired.withUrl(fresh, headersFor(fresh));
            }
        }
        throw new ProviderException(ID, Kind.REJECTED, Stage.DOWNLOAD, 200,
                "Vugola no longer offers clip " + index + " of job " + job.providerRef(), null);
    }

    /** GET /clip/:id/download/all (fresh presigned links); the clips of the status answer if that fails. */
    List<JsonNode> clips(Job job) {
        try {
            List<JsonNode> fresh = downloadAll(job);
            if (!fresh.isEmpty()) {
                return fresh;
            }
        } catch (ProviderException e) {
            if (e.kind() == Kind.MISCONFIGURED || e.kind() == Kind.WAIT) {
                throw e;
            }
            LOG.warnf("Job %s: GET /clip/%s/download/all failed (%s); using the links of the status answer", job.id(), job.providerRef(), e.getMessage());
        }
        List<JsonNode> out = new ArrayList<>();
        JsonNode status = job.providerData() == null ? null : jobData.tree(job.providerData());
        if (status != null) {
            int i = 1;
            for (JsonNode c : status.path("clips")) {
                ObjectNode copy = c.deepCopy();
                if (!copy.has("clip_index")) {
                    copy.put("clip_index", i);
                }
                i++;
                out.add(copy);
            }
        }
        return out;
    }

    private List<JsonNode> downloadAll(Job job) {
        Answer answer = http.call(ID, "download-all", Stage.DOWNLOAD, "GET", uri("/clip/" + job.providerRef() + "/download/all"), auth(), null);
        if (answer.status() == 429) {
            throw ProviderException.waitUntil(ID, Stage.DOWNLOAD, 429, VugolaErrors.retryAt(answer, Instant.now()),
                    WAITING + ": GET /clip/:id/download/all answered 429");
        }
        if (!answer.ok()) {
            throw VugolaErrors.failure("GET /clip/" + job.providerRef() + "/download/all", Stage.DOWNLOAD, answer);
        }
        List<JsonNode> out = new ArrayList<>();
        answer.body().path("clips").forEach(out::add);
        return out;
    }

    /**
     * Presigned links (clips rendered after 2026-04-15) must get no headers; the older
     * authenticated proxy links point at the API itself and need the Bearer key.
     */
    Map<String, String> headersFor(URI url) {
        URI base = URI.create(cfg().baseUrl());
        boolean proxy = url.getHost() != null && url.getHost().equalsIgnoreCase(base.getHost()) && url.getPort() == base.getPort()
                && url.getPath() != null && url.getPath().startsWith(base.getPath());
        return proxy ? auth() : Map.of();
    }

    private static void putIfPresent(Map<String, Object> metadata, String key, JsonNode value) {
        if (value == null || value.isNull()) {
            return;
        }
        metadata.put(key, value.isNumber() ? value.numberValue() : value.asText());
    }

    // ------------------------------------------------------------------ usage (report)

    /** GET /usage: credits remaining, total, used this month, plan. */
    public JsonNode usage() {
        Answer answer = http.call(ID, "usage", Stage.POLL, "GET", uri("/usage"), auth(), null);
        if (!answer.ok()) {
            throw VugolaErrors.failure("GET /usage", Stage.POLL, answer);
        }
        return answer.body();
    }

    // ------------------------------------------------------------------ plumbing

    Map<String, String> auth() {
        return Map.of("Authorization", "Bearer " + cfg().apiKey().orElse(""));
    }

    URI uri(String path) {
        String base = cfg().baseUrl();
        return URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) + path : base + path);
    }

    static String human(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s % 3600) / 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
