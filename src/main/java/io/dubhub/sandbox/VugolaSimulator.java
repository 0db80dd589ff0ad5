package io.dubhub.sandbox;

import static io.dubhub.sandbox.SimulatorHttp.ok;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.media.MediaInfo;
import io.dubhub.media.MediaProbe;
import io.dubhub.sandbox.SimulatorHttp.Answer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A stand-in for Vugola (providers/vugola-api-v1.md) at {@value #API_PATH}: Bearer
 * {@value #API_KEY}, POST /clip and /caption that fetch {@code video_url} for real and measure
 * it (5 min-2 h for clips, ≤ 5 min for captions), the duplicate rule, 5 create requests per
 * rolling window and 3 processing jobs with 429 + Retry-After, a credit balance charged at
 * completion (max(1, ceil(minutes))), jobs that run three stages of hub.sandbox.stage-duration,
 * clips with presigned download links (or the older authenticated proxy links), /schedule,
 * /status, /usage. Time moves lazily from timestamps. State is in memory: a restart forgets it.
 * Every request is logged with its arrival time, so tests can check the rate invariants from here.
 */
@ApplicationScoped
@Named("vugolaSimulator")
public class VugolaSimulator {

    private static final Logger LOG = Logger.getLogger(VugolaSimulator.class);

    public static final String API_KEY = "vug_sk_sandbox";
    public static final String API_PATH = "/sandbox/vugola/api/v1";
    public static final String CONTROL_PATH = "/sandbox/vugola/_control";
    public static final long DEFAULT_CREDITS = 1200;
    public static final int MAX_PER_WINDOW = 5;
    public static final int MAX_RUNNING = 3;
    static final int CLIPS_PER_JOB = 3;
    static final Set<String> ASPECTS = Set.of("9:16", "16:9", "1:1");
    static final Set<String> STYLES = Set.of("none", "highlighted", "scale", "minimalist", "box", "staticbox", "glow", "hormozi");
    static final Set<String> PLATFORMS = Set.of("x", "instagram", "tiktok", "youtube", "facebook", "linkedin", "threads", "bluesky");
    static final Set<String> MEDIA_REQUIRED = Set.of("instagram", "tiktok", "youtube");
    static final Pattern COLOR = Pattern.compile("#[0-9A-Fa-f]{6}");

    @Inject
    HubConfig config;

    @Inject
    SandboxStorage storage;

    @Inject
    MediaProbe probe;

    private final ObjectMapper json = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private final HttpClient fetcher = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL).build();

    /** One API request as the simulator saw it: when, which operation, what it answered. */
    public record Request(long at, String operation, int status) {
    }

    /** One job's life: created, and when it stopped processing (complete or failed). */
    public record JobSpan(String jobId, long createdAt, long endsAt) {
    }

    static final class SimJob {
        String id;
        String mode;
        String videoUrl;
        String aspect;
        String style;
        long createdAt;
        long endsAt;
        double seconds;
        long cost;
        String failWith;
        boolean settled;
        Path source;
        final List<Map<String, Object>> clips = new ArrayList<>();
    }

    static final class Post {
        String id;
        String platform;
        String caption;
        String title;
        String mediaUrl;
        Instant scheduledAt;
        String status = "scheduled";
        Instant postedAt;
    }

    // guarded by this
    private long credits = DEFAULT_CREDITS;
    private long creditsTotal = DEFAULT_CREDITS;
    private long usedThisMonth;
    private Duration window = Duration.ofMinutes(1);
    private Duration stage;
    private final Map<String, SimJob> jobs = new LinkedHashMap<>();
    private final Map<String, Post> posts = new LinkedHashMap<>();
    private final List<Request> log = new ArrayList<>();
    private final List<Map<String, Object>> history = new ArrayList<>();
    private int failAfterCreate;
    private String failNextJob;
    private int forcedTooMany;
    private long forcedRetryAfter;
    private boolean legacyLinks;

    // ================================================================ test controls

    public synchronized void reset() {
        credits = DEFAULT_CREDITS;
        creditsTotal = DEFAULT_CREDITS;
        usedThisMonth = 0;
        window = Duration.ofMinutes(1);
        stage = null;
        jobs.clear();
        posts.clear();
        log.clear();
        history.clear();
        failAfterCreate = 0;
        failNextJob = null;
        forcedTooMany = 0;
        legacyLinks = false;
    }

    public synchronized void setCredits(long value) {
        credits = value;
    }

    public synchronized long credits() {
        settleAll();
        return credits;
    }

    /** The rolling window of "5 clip requests a minute" (tests scale it with the hub's). */
    public synchronized void setRateWindow(Duration value) {
        window = value;
    }

    public synchronized void setStageDuration(Duration value) {
        stage = value;
    }

    /** The next {@code times} create calls create their job, then answer 500 as if the answer broke. */
    public synchronized void failAfterCreate(int times) {
        failAfterCreate = times;
    }

    /** The next job created fails with this error (e.g. no_speech_detected) after its first stage. */
    public synchronized void failNextJob(String error) {
        failNextJob = error;
    }

    /** The next {@code times} create calls answer 429 with Retry-After {@code seconds}. */
    public synchronized void tooManyRequestsNext(int times, long seconds) {
        forcedTooMany = times;
        forcedRetryAfter = seconds;
    }

    /** Clips rendered from now on get the older authenticated proxy links instead of presigned ones. */
    public synchronized void setLegacyLinks(boolean value) {
        legacyLinks = value;
    }

    public synchronized List<Request> requests() {
        return List.copyOf(log);
    }

    public synchronized List<JobSpan> jobSpans() {
        return jobs.values().stream().map(j -> new JobSpan(j.id, j.createdAt, j.endsAt)).toList();
    }

    public synchronized int jobCount() {
        return jobs.size();
    }

    public synchronized List<Map<String, Object>> scheduledPosts() {
        settleAll();
        return posts.values().stream().map(this::postJson).toList();
    }

    public String baseUrl() {
        String base = config.publicBaseUrl();
        return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + API_PATH;
    }

    // ================================================================ HTTP

    void register(@Observes Router router) {
        if (!config.sandbox().enabled()) {
            return;
        }
        router.route(API_PATH + "/*").handler(this::authenticate);
        router.route(API_PATH + "/*").handler(BodyHandler.create(false).setBodyLimit(256 * 1024));
        api(router, HttpMethod.GET, "/status", "status", ctx -> ok(balance(false)));
        api(router, HttpMethod.GET, "/usage", "usage", ctx -> ok(balance(true)));
        api(router, HttpMethod.GET, "/usage/history", "usage-history", ctx -> ok(Map.of("transactions", List.copyOf(history),
                "total", history.size(), "limit", 20, "offset", 0)));
        api(router, HttpMethod.POST, "/clip", "clip", ctx -> create(ctx, "clipping"));
        api(router, HttpMethod.POST, "/caption", "caption", ctx -> create(ctx, "captions"));
        api(router, HttpMethod.GET, "/clip/:id", "clip-status", ctx -> status(ctx.pathParam("id")));
        api(router, HttpMethod.GET, "/clip/:id/download/all", "download-all", ctx -> downloadAll(ctx.pathParam("id")));
        router.route(HttpMethod.GET, API_PATH + "/clip/:id/download/:index").blockingHandler(this::downloadOne, false);
        api(router, HttpMethod.POST, "/schedule", "schedule", this::schedule);
        api(router, HttpMethod.GET, "/schedule", "list-schedule", this::listPosts);
        api(router, HttpMethod.GET, "/schedule/:id", "get-schedule", ctx -> onePost(ctx.pathParam("id")));
        api(router, HttpMethod.DELETE, "/schedule/:id", "cancel-schedule", ctx -> cancelPost(ctx.pathParam("id")));
        router.route(API_PATH + "/*").handler(ctx -> reply(ctx, error(404, "not_found", "no such endpoint")));

        control(router, HttpMethod.POST, "/reset", ctx -> {
            reset();
            return ok(Map.of("reset", true));
        });
        control(router, HttpMethod.POST, "/credits", ctx -> {
            setCredits(Long.parseLong(ctx.queryParams().get("value")));
            return ok(Map.of("credits", credits()));
        });
        control(router, HttpMethod.POST, "/fail-after-create", ctx -> {
            failAfterCreate(Integer.parseInt(ctx.queryParams().get("times")));
            return ok(Map.of("times", Integer.parseInt(ctx.queryParams().get("times"))));
        });
        control(router, HttpMethod.POST, "/fail-next-job", ctx -> {
            failNextJob(ctx.queryParams().get("error"));
            return ok(Map.of("error", ctx.queryParams().get("error")));
        });
        control(router, HttpMethod.GET, "/requests", ctx -> ok(requests()));
        LOG.infof("Sandbox Vugola simulator serving %s (Bearer %s)", baseUrl(), API_KEY);
    }

    private void authenticate(RoutingContext ctx) {
        String header = ctx.request().getHeader("Authorization");
        if (header == null || !header.equals("Bearer " + API_KEY)) {
            reply(ctx, error(401, "invalid_api_key", "Missing or malformed Authorization header"));
            return;
        }
        ctx.next();
    }

    private void api(Router router, HttpMethod method, String path, String operation, Function<RoutingContext, Answer> work) {
        router.route(method, API_PATH + path).blockingHandler(ctx -> {
            // rate limits count a request when it arrives, not when its work (fetching the video) is done
            long arrived = System.currentTimeMillis();
            ctx.put("arrivedAt", arrived);
            Answer answer;
            Map<String, String> headers = new LinkedHashMap<>();
            synchronized (this) {
                settleAll();
                try {
                    answer = work.apply(ctx);
                } catch (ApiError e) {
                    answer = error(e.status, e.code, e.getMessage());
                    if (e.retryAfterSeconds > 0) {
                        headers.put("Retry-After", Long.toString(e.retryAfterSeconds));
                    }
                } catch (RuntimeException e) {
                    LOG.errorf(e, "Sandbox Vugola failed on %s", operation);
                    answer = error(500, "server_error", "Internal server error");
                }
                log.add(new Request(arrived, operation, answer.status()));
            }
            headers.forEach((k, v) -> ctx.response().putHeader(k, v));
            reply(ctx, answer);
        }, false);
    }

    private void control(Router router, HttpMethod method, String path, Function<RoutingContext, Answer> action) {
        router.route(method, CONTROL_PATH + path).blockingHandler(ctx -> {
            Answer answer;
            try {
                answer = action.apply(ctx);
            } catch (RuntimeException e) {
                answer = error(400, "bad_request", String.valueOf(e.getMessage()));
            }
            reply(ctx, answer);
        }, false);
    }

    private void reply(RoutingContext ctx, Answer answer) {
        SimulatorHttp.reply(json, ctx, answer);
    }

    private static Answer error(int status, String code, String message) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", code);
        body.put("message", message);
        return new Answer(status, body);
    }

    /** An API error answered as Vugola does: {@code {"error": code, "message": text}}. */
    private static final class ApiError extends RuntimeException {
        final int status;
        final String code;
        final long retryAfterSeconds;
        final Map<String, Object> extra;

        ApiError(int status, String code, String message) {
            this(status, code, message, 0);
        }

        ApiError(int status, String code, String message, long retryAfterSeconds) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
            this.retryAfterSeconds = retryAfterSeconds;
            this.extra = Map.of();
        }
    }

    private JsonNode body(RoutingContext ctx) {
        try {
            JsonNode node = ctx.body() == null || ctx.body().buffer() == null ? null : json.readTree(ctx.body().buffer().getBytes());
            if (node == null || !node.isObject()) {
                throw new ApiError(400, "bad_request", "Request body must be a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw new ApiError(400, "bad_request", "Invalid JSON body");
        }
    }

    // ================================================================ endpoints

    private Map<String, Object> balance(boolean usage) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("credits_remaining", credits);
        b.put("credits_total", creditsTotal);
        if (usage) {
            b.put("credits_used_this_month", usedThisMonth);
        }
        b.put("plan", "agency");
        return b;
    }

    private Answer create(RoutingContext ctx, String mode) {
        JsonNode body = body(ctx);
        String url = body.path("video_url").asText("");
        if (url.isBlank()) {
            throw new ApiError(400, "missing_video_url", "video_url is required");
        }
        String aspect = body.path("aspect_ratio").asText("");
        if (!ASPECTS.contains(aspect)) {
            throw new ApiError(400, "invalid_aspect_ratio", "aspect_ratio must be 9:16, 16:9 or 1:1");
        }
        String style = body.path("caption_style").asText("");
        if (!STYLES.contains(style)) {
            throw new ApiError(400, "invalid_caption_style", "unknown caption_style " + style);
        }
        if (body.hasNonNull("caption_color") && !COLOR.matcher(body.get("caption_color").asText()).matches()) {
            throw new ApiError(400, "invalid_caption_color", "caption_color must be #RRGGBB");
        }
        long arrived = ctx.get("arrivedAt");
        long now = System.currentTimeMillis();
        if (forcedTooMany > 0) {
            forcedTooMany--;
            throw new ApiError(429, "rate_limit", "Too many requests (injected)", forcedRetryAfter);
        }
        List<Long> recent = log.stream().filter(r -> (r.operation().equals("clip") || r.operation().equals("caption")) && r.status() != 429
                && r.at() > arrived - window.toMillis()).map(Request::at).sorted().toList();
        if (recent.size() >= MAX_PER_WINDOW) {
            long wait = recent.get(recent.size() - MAX_PER_WINDOW) + window.toMillis() - arrived;
            throw new ApiError(429, "rate_limit", "Clipping requests are limited to " + MAX_PER_WINDOW + " per minute",
                    Math.max(1, (wait + 999) / 1000));
        }
        for (SimJob j : jobs.values()) {
            if (j.videoUrl.equals(url) && j.aspect.equals(aspect) && j.style.equals(style) && j.mode.equals(mode)
                    && (j.failWith == null || now < j.endsAt)) {
                Map<String, Object> dup = new LinkedHashMap<>();
                dup.put("job_id", j.id);
                dup.put("status", now < j.endsAt ? "processing" : "complete");
                dup.put("duplicate", true);
                dup.put("message", "An identical job already exists; no extra credits were charged.");
                return new Answer(202, dup);
            }
        }
        List<Long> running = jobs.values().stream().filter(j -> now < j.endsAt).map(j -> j.endsAt).sorted().toList();
        if (running.size() >= MAX_RUNNING) {
            throw new ApiError(429, "rate_limit", "At most " + MAX_RUNNING + " clipping jobs can be processing at once",
                    Math.max(1, (running.get(0) - now + 999) / 1000));
        }
        Path source = fetch(url);
        double seconds;
        try {
            MediaInfo media = probe.probe(source);
            if (media.duration() == null) {
                throw new ApiError(400, "unknown_duration", "Could not determine the video's duration");
            }
            seconds = media.duration().toMillis() / 1000.0;
        } catch (ApiError e) {
            deleteQuietly(source);
            throw e;
        } catch (RuntimeException e) {
            deleteQuietly(source);
            throw new ApiError(400, "unknown_duration", "Could not read the video: " + e.getMessage());
        }
        boolean captions = mode.equals("captions");
        if (captions && seconds > 300) {
            deleteQuietly(source);
            throw new ApiError(400, "video_too_long", "Captions take videos of at most 5 minutes");
        }
        if (!captions && seconds < 300) {
            deleteQuietly(source);
            throw new ApiError(400, "video_too_short", "Clipping needs a video of at least 5 minutes");
        }
        if (!captions && seconds > 7200) {
            deleteQuietly(source);
            throw new ApiError(400, "video_too_long", "Clipping takes videos of at most 2 hours");
        }
        long cost = Math.max(1, (long) Math.ceil(seconds / 60.0));
        if (cost > credits) {
            deleteQuietly(source);
            Map<String, Object> b = new LinkedHashMap<>();
            b.put("error", "insufficient_credits");
            b.put("message", "Not enough credits to start the job");
            b.put("credits_remaining", credits);
            b.put("credits_needed", cost);
            b.put("upgrade_url", "https://www.vugolaai.com/dashboard/subscription");
            return new Answer(402, b);
        }
        SimJob j = new SimJob();
        j.id = UUID.randomUUID().toString();
        j.mode = mode;
        j.videoUrl = url;
        j.aspect = aspect;
        j.style = style;
        j.createdAt = now;
        j.seconds = seconds;
        j.cost = cost;
        j.source = source;
        j.failWith = failNextJob;
        failNextJob = null;
        long stageMillis = stageMillis();
        j.endsAt = now + (j.failWith != null ? stageMillis : 3 * stageMillis);
        jobs.put(j.id, j);
        if (failAfterCreate > 0) {
            failAfterCreate--;
            throw new ApiError(500, "server_error", "Temporary server error (injected after the job was created)");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("job_id", j.id);
        out.put("status", "processing");
        if (captions) {
            out.put("mode", "captions");
        }
        out.put("message", captions ? "Video is being captioned. Poll GET /clip/:job_id for status."
                : "Video is being processed. Poll GET /clip/:job_id for status.");
        return new Answer(202, out);
    }

    private long stageMillis() {
        return (stage != null ? stage : config.sandbox().stageDuration()).toMillis();
    }

    /** GET video_url for real, as Vugola's fetcher would: a hub whose staged link does not work fails here. */
    private Path fetch(String url) {
        try {
            Path file = Files.createTempFile("vugola-sim-", ".mp4");
            HttpResponse<Path> response = fetcher.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60)).GET().build(),
                    HttpResponse.BodyHandlers.ofFile(file));
            if (response.statusCode() / 100 != 2) {
                deleteQuietly(file);
                throw new ApiError(400, "bad_request", "Could not fetch video_url: HTTP " + response.statusCode());
            }
            return file;
        } catch (IOException | IllegalArgumentException e) {
            throw new ApiError(400, "bad_request", "Could not fetch video_url: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiError(500, "server_error", "interrupted");
        }
    }

    private void settleAll() {
        long now = System.currentTimeMillis();
        for (SimJob j : jobs.values()) {
            if (!j.settled && now >= j.endsAt) {
                settle(j);
            }
        }
        for (Post p : posts.values()) {
            if (p.status.equals("scheduled") && !Instant.now().isBefore(p.scheduledAt)) {
                p.status = "posted";
                p.postedAt = Instant.now();
            }
        }
    }

    private void settle(SimJob j) {
        j.settled = true;
        if (j.failWith != null) {
            deleteQuietly(j.source);
            return;
        }
        credits -= j.cost;
        usedThisMonth += j.cost;
        Map<String, Object> txn = new LinkedHashMap<>();
        txn.put("id", UUID.randomUUID().toString());
        txn.put("type", "debit");
        txn.put("amount", j.cost);
        txn.put("date", Instant.now().toString());
        txn.put("video_url", j.videoUrl);
        history.add(0, txn);
        try {
            if (j.mode.equals("captions")) {
                String key = "vugola/" + j.id + "/captioned.mp4";
                storage.putFile(key, j.source);
                j.clips.add(clip(j, 1, key, "Captioned video", j.seconds, 1.0));
            } else {
                for (int i = 1; i <= CLIPS_PER_JOB; i++) {
                    String key = "vugola/" + j.id + "/clip-" + i + ".mp4";
                    double seconds = 20 + 10 * i;
                    storage.putBytes(key, SyntheticVideo.tinyMp4(Duration.ofSeconds((long) seconds)));
                    j.clips.add(clip(j, i, key, "Moment " + i + " of the talk", seconds + 0.5, Math.round((0.95 - 0.1 * i) * 100) / 100.0));
                }
            }
        } finally {
            deleteQuietly(j.source);
        }
    }

    private Map<String, Object> clip(SimJob j, int index, String key, String title, double seconds, double virality) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("clip_index", index);
        c.put("clip_id", UUID.nameUUIDFromBytes((j.id + "#" + index).getBytes()).toString());
        c.put("title", title);
        c.put("filename", index + "-" + title.toLowerCase().replaceAll("[^a-z0-9]+", "-") + ".mp4");
        c.put("virality_score", virality);
        c.put("duration", seconds);
        c.put("key", key);
        c.put("legacy", legacyLinks);
        return c;
    }

    /** A clip as the API shows it: a fresh presigned link (about an hour), or the older proxy link. */
    private Map<String, Object> published(SimJob j, Map<String, Object> c, boolean withIndex) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (withIndex) {
            out.put("clip_index", c.get("clip_index"));
        }
        out.put("clip_id", c.get("clip_id"));
        out.put("title", c.get("title"));
        if (withIndex) {
            out.put("filename", c.get("filename"));
        }
        out.put("duration", c.get("duration"));
        out.put("virality_score", c.get("virality_score"));
        out.put("download_url", Boolean.TRUE.equals(c.get("legacy"))
                ? baseUrl() + "/clip/" + j.id + "/download/" + c.get("clip_index")
                : storage.presignGet((String) c.get("key"), Duration.ofHours(1)).toString());
        return out;
    }

    private SimJob job(String id) {
        SimJob j = jobs.get(id);
        if (j == null) {
            throw new ApiError(404, "not_found", "Job not found");
        }
        return j;
    }

    private Answer status(String id) {
        SimJob j = job(id);
        long now = System.currentTimeMillis();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("job_id", j.id);
        if (now < j.endsAt) {
            long stageMillis = Math.max(1, (j.endsAt - j.createdAt) / 3);
            out.put("status", "processing");
            out.put("mode", j.mode);
            out.put("progress", (int) Math.min(99, (now - j.createdAt) * 100 / Math.max(1, j.endsAt - j.createdAt)));
            if (j.mode.equals("clipping")) {
                out.put("clips_ready", (int) Math.min(CLIPS_PER_JOB - 1, Math.max(0, (now - j.createdAt) / stageMillis - 1)));
                out.put("clips_total", CLIPS_PER_JOB);
            }
        } else if (j.failWith != null) {
            out.put("status", "failed");
            out.put("mode", j.mode);
            out.put("error", j.failWith);
        } else {
            out.put("status", "complete");
            out.put("mode", j.mode);
            out.put("credits_used", j.cost);
            out.put("clips", j.clips.stream().map(c -> published(j, c, false)).toList());
            out.put("download_endpoint", baseUrl() + "/clip/" + j.id + "/download/all");
        }
        return ok(out);
    }

    private Answer downloadAll(String id) {
        SimJob j = job(id);
        if (!j.settled || j.failWith != null) {
            throw new ApiError(404, "not_found", "Job has no rendered clips");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("job_id", j.id);
        out.put("clips", j.clips.stream().map(c -> published(j, c, true)).toList());
        out.put("note", "download_url is a presigned link valid for approximately 1 hour. No Authorization header required.");
        return ok(out);
    }

    /** GET /clip/:id/download/:index: the authenticated proxy (the Authorization header is checked by the API's auth handler). */
    private void downloadOne(RoutingContext ctx) {
        Map<String, Object> clip;
        synchronized (this) {
            settleAll();
            SimJob j = jobs.get(ctx.pathParam("id"));
            int index;
            try {
                index = Integer.parseInt(ctx.pathParam("index"));
            } catch (NumberFormatException e) {
                index = -1;
            }
            int wanted = index;
            clip = j == null ? null : j.clips.stream().filter(c -> ((Integer) c.get("clip_index")) == wanted).findFirst().orElse(null);
            log.add(new Request(System.currentTimeMillis(), "download", clip == null ? 404 : 200));
        }
        if (clip == null) {
            reply(ctx, error(404, "not_found", "Clip not found"));
            return;
        }
        Path file = storage.pathOf((String) clip.get("key"));
        ctx.response().putHeader("Content-Type", "video/mp4").sendFile(file.toString());
    }

    private Answer schedule(RoutingContext ctx) {
        JsonNode body = body(ctx);
        JsonNode list = body.get("posts");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw new ApiError(400, "bad_request", "posts must be a non-empty array");
        }
        if (list.size() > 25) {
            throw new ApiError(400, "bad_request", "At most 25 posts per request");
        }
        List<Post> made = new ArrayList<>();
        for (JsonNode p : list) {
            String platform = p.path("platform").asText("");
            if (!PLATFORMS.contains(platform)) {
                throw new ApiError(400, "bad_request", "Unsupported platform: " + platform);
            }
            String caption = p.path("caption").asText(null);
            if (caption == null || caption.length() > 5000) {
                throw new ApiError(400, "bad_request", "caption is required and at most 5000 characters");
            }
            Instant at;
            try {
                at = Instant.parse(p.path("scheduled_at").asText(""));
            } catch (RuntimeException e) {
                throw new ApiError(400, "bad_request", "scheduled_at must be an ISO 8601 UTC timestamp");
            }
            if (!at.isAfter(Instant.now())) {
                throw new ApiError(400, "bad_request", "scheduled_at must be in the future");
            }
            if (MEDIA_REQUIRED.contains(platform) && !p.hasNonNull("media_url") && !p.hasNonNull("asset_id")) {
                throw new ApiError(400, "bad_request", "media_url is required for " + platform);
            }
            if (p.hasNonNull("title") && p.get("title").asText().length() > 200) {
                throw new ApiError(400, "bad_request", "title is at most 200 characters");
            }
            Post post = new Post();
            post.id = UUID.randomUUID().toString();
            post.platform = platform;
            post.caption = caption;
            post.title = p.path("title").asText(null);
            post.mediaUrl = p.path("media_url").asText(null);
            post.scheduledAt = at;
            made.add(post);
        }
        made.forEach(p -> posts.put(p.id, p));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("success", true);
        out.put("posts", made.stream().map(p -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", p.id);
            m.put("platform", p.platform);
            m.put("status", p.status);
            m.put("scheduled_at", p.scheduledAt.toString());
            return m;
        }).toList());
        return new Answer(201, out);
    }

    private Map<String, Object> postJson(Post p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", p.id);
        m.put("platform", p.platform);
        m.put("caption", p.caption);
        m.put("title", p.title);
        m.put("status", p.status);
        m.put("scheduled_at", p.scheduledAt.toString());
        m.put("posted_at", p.postedAt == null ? null : p.postedAt.toString());
        m.put("failure_reason", null);
        m.put("media_url", p.mediaUrl);
        return m;
    }

    private Answer listPosts(RoutingContext ctx) {
        String status = ctx.queryParams().get("status");
        String platform = ctx.queryParams().get("platform");
        int limit = Math.min(100, Integer.parseInt(ctx.queryParams().contains("limit") ? ctx.queryParams().get("limit") : "20"));
        int offset = Integer.parseInt(ctx.queryParams().contains("offset") ? ctx.queryParams().get("offset") : "0");
        List<Map<String, Object>> all = posts.values().stream()
                .filter(p -> status == null || p.status.equals(status))
                .filter(p -> platform == null || p.platform.equals(platform))
                .map(this::postJson).toList();
        List<Map<String, Object>> page = all.subList(Math.min(offset, all.size()), Math.min(all.size(), offset + limit));
        return ok(Map.of("posts", page, "total", all.size(), "limit", limit, "offset", offset));
    }

    private Answer onePost(String id) {
        Post p = posts.get(id);
        if (p == null) {
            throw new ApiError(404, "not_found", "Scheduled post not found");
        }
        return ok(postJson(p));
    }

    private Answer cancelPost(String id) {
        Post p = posts.get(id);
        if (p == null) {
            throw new ApiError(404, "not_found", "Scheduled post not found");
        }
        if (!p.status.equals("scheduled")) {
            throw new ApiError(409, "cannot_cancel", "Only scheduled posts can be cancelled; this one is " + p.status);
        }
        p.status = "cancelled";
        return ok(Map.of("success", true, "id", p.id, "status", "cancelled"));
    }

    private static void deleteQuietly(Path p) {
        try {
            if (p != null) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // a temp file left behind is harmless
        }
    }
}
