package io.dubhub.sandbox;

import static io.dubhub.sandbox.SimulatorHttp.ok;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.http.UrlRedactor;
import io.dubhub.media.MediaInfo;
import io.dubhub.media.MediaProbe;
import io.dubhub.sandbox.SimulatorHttp.Answer;
import io.dubhub.sandbox.SimulatorHttp.FailNext;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A stand-in for alugha's API v2 (providers/alugha-api-v2.md) at {@value #API_PATH}: Bearer auth,
 * {@code POST /videos} that really fetches {@code downloadFromUrl} (no headers, as the doc says)
 * and checks it is a whole video, then walks the documented lifecycle (download finished →
 * encoding → ready for playback) over {@code hub.sandbox.stage-duration} per step, calling the
 * {@code statusWebhook} at each change; {@code GET /videos/{id}}, {@code GET /tracks?videoId=},
 * {@code GET /tracks/{id}}. The doc gives no field names for the status or the webhook body, so
 * this one answers {@code "status"} and posts {@code {"videoId","status"}}; the hub reads both
 * tolerantly and trusts neither.
 *
 * <p>Test controls (Java and {@value #CONTROL_PATH}): drop webhooks, inject errors or a lost
 * answer, add tracks when a video becomes ready (as if someone added languages in the dubbr).
 * State lives in memory: unlike the dublab and Perso simulators, a restarted sandbox forgets its
 * alugha videos.
 */
@ApplicationScoped
@Named("alughaSimulator")
public class AlughaSimulator {

    private static final Logger LOG = Logger.getLogger(AlughaSimulator.class);

    public static final String TOKEN = "sandbox-alugha-token";
    public static final String API_PATH = "/sandbox/alugha/v2";
    public static final String WATCH_PATH = "/sandbox/alugha/watch";
    public static final String CONTROL_PATH = "/sandbox/alugha/_control";
    public static final List<String> OPERATIONS = List.of("create-video", "get-video", "list-tracks", "get-track");

    /** The doc: ISO 639-3, optionally with an ISO 3166-1 country or a UN M.49 region. */
    static final Pattern LANG_CODE = Pattern.compile("[a-z]{3}(-([a-z]{2}|[0-9]{3}))?");

    public static final String DOWNLOADING = "downloading";
    public static final String DOWNLOADED = "downloaded";
    public static final String ENCODING = "encoding";
    public static final String READY = "ready";
    public static final String FAILED = "failed";

    @Inject
    HubConfig config;

    @Inject
    MediaProbe probe;

    @Inject
    HttpClient http;

    private final ObjectMapper json = new ObjectMapper();
    private final ScheduledExecutorService lifecycle = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "alugha-sim");
        t.setDaemon(true);
        return t;
    });

    // all guarded by this
    private final Map<String, Video> videos = new LinkedHashMap<>();
    private final Map<String, Track> tracks = new LinkedHashMap<>();
    private final Map<String, Integer> calls = new TreeMap<>();
    private final Map<String, FailNext> failNext = new TreeMap<>();
    private final Map<String, Integer> loseNext = new TreeMap<>();
    private final List<WebhookCall> webhookCalls = new ArrayList<>();
    private boolean dropWebhooks;
    private List<String> tracksOnReady = List.of();
    private long stageMillis = -1;

    /** One video at the simulated alugha. */
    public static final class Video {
        public String id;
        public Instant created;
        public Instant modified;
        public String status;
        public String error;
        public String defaultTrackId;
        public String downloadFromUrl;
        public String statusWebhook;
        public long fetchedBytes = -1;
        public String fetchedType;
    }

    public static final class Track {
        public String id;
        public String videoId;
        public String langCode;
        public String title;
        public String description;
    }

    /** A statusWebhook call: whom, which status, and what the hub answered (0 = dropped on purpose or unreachable). */
    public record WebhookCall(String videoId, String status, int answer, boolean dropped) {
    }

    @PreDestroy
    void stop() {
        lifecycle.shutdownNow();
    }

    // ================================================================ test controls (Java)

    public synchronized void reset() {
        videos.clear();
        tracks.clear();
        calls.clear();
        failNext.clear();
        loseNext.clear();
        webhookCalls.clear();
        dropWebhooks = false;
        tracksOnReady = List.of();
        stageMillis = -1;
    }

    /** While on, every statusWebhook call is counted but not made (a webhook lost on the way). */
    public synchronized void dropWebhooks(boolean drop) {
        dropWebhooks = drop;
    }

    /** Tracks in these langCodes appear on each video as it becomes ready, as if added in alugha's dubbr. */
    public synchronized void addTracksOnReady(List<String> langCodes) {
        for (String code : langCodes) {
            if (!LANG_CODE.matcher(code).matches()) {
                throw new IllegalArgumentException("not an alugha langCode: " + code);
            }
        }
        tracksOnReady = List.copyOf(langCodes);
    }

    /** The next {@code times} calls of {@code operation} answer {@code httpStatus} without doing anything. */
    public synchronized void failNextCalls(String operation, int httpStatus, int times) {
        checkOperation(operation);
        if (httpStatus < 400 || httpStatus > 599) {
            throw new IllegalArgumentException("status must be an HTTP error status: " + httpStatus);
        }
        if (times <= 0) {
            failNext.remove(operation);
        } else {
            failNext.put(operation, new FailNext(httpStatus, times));
        }
    }

    /** The next call of {@code operation} does its work but answers 502, as if the answer got lost on the way. */
    public synchronized void loseNextAnswer(String operation) {
        checkOperation(operation);
        loseNext.merge(operation, 1, Integer::sum);
    }

    public synchronized void setStageDuration(Duration stage) {
        stageMillis = Math.max(0, stage.toMillis());
    }

    public synchronized int calls(String operation) {
        return calls.getOrDefault(operation, 0);
    }

    public synchronized int videoCount() {
        return videos.size();
    }

    public synchronized List<Video> videos() {
        return List.copyOf(videos.values());
    }

    public synchronized List<WebhookCall> webhookCalls() {
        return List.copyOf(webhookCalls);
    }

    public String baseUrl() {
        return publicBase() + API_PATH;
    }

    // ================================================================ HTTP

    void register(@Observes Router router) {
        if (!config.sandbox().enabled()) {
            return;
        }
        router.route(API_PATH + "/*").handler(this::authenticate);
        router.route(API_PATH + "/*").handler(BodyHandler.create(false).setBodyLimit(64 * 1024));
        api(router, HttpMethod.POST, "/videos", "create-video", this::createVideo);
        api(router, HttpMethod.GET, "/videos/:id", "get-video", ctx -> getVideo(ctx.pathParam("id")));
        api(router, HttpMethod.GET, "/tracks", "list-tracks", ctx -> listTracks(ctx.queryParams().get("videoId")));
        api(router, HttpMethod.GET, "/tracks/:id", "get-track", ctx -> getTrack(ctx.pathParam("id")));
        router.route(API_PATH + "/*").handler(ctx -> reply(ctx, error(404, "Not Found")));
        // What the hosted links point at: a stand-in for alugha's player page.
        router.route(HttpMethod.GET, WATCH_PATH + "/:id").handler(ctx -> ctx.response().putHeader("Content-Type", "text/plain")
                .end("alugha sandbox player for video " + ctx.pathParam("id") + "\n"));

        control(router, HttpMethod.POST, "/reset", ctx -> {
            reset();
            return ok(Map.of("reset", true));
        });
        control(router, HttpMethod.POST, "/drop-webhooks", ctx -> {
            dropWebhooks(Boolean.parseBoolean(required(ctx, "value")));
            return ok(Map.of("dropWebhooks", Boolean.parseBoolean(required(ctx, "value"))));
        });
        control(router, HttpMethod.POST, "/tracks-on-ready", ctx -> {
            String v = ctx.queryParams().get("langCodes");
            addTracksOnReady(v == null || v.isBlank() ? List.of() : List.of(v.split(",")));
            return ok(Map.of("langCodes", v == null ? "" : v));
        });
        control(router, HttpMethod.POST, "/fail-next", ctx -> {
            String times = ctx.queryParams().get("times");
            failNextCalls(required(ctx, "operation"), Integer.parseInt(required(ctx, "status")), times == null ? 1 : Integer.parseInt(times));
            return ok(Map.of("operation", required(ctx, "operation")));
        });
        control(router, HttpMethod.POST, "/lose-next-answer", ctx -> {
            loseNextAnswer(required(ctx, "operation"));
            return ok(Map.of("operation", required(ctx, "operation")));
        });
        control(router, HttpMethod.POST, "/stage-duration", ctx -> {
            setStageDuration(Duration.ofMillis(Long.parseLong(required(ctx, "millis"))));
            return ok(Map.of("millis", Long.parseLong(required(ctx, "millis"))));
        });
        control(router, HttpMethod.GET, "/state", ctx -> ok(snapshot()));
        LOG.infof("Sandbox alugha simulator serving %s (Bearer %s)", baseUrl(), TOKEN);
    }

    /** An API error as this simulator answers it: {@code {"status":…,"message":…}}. */
    private static final class ApiError extends RuntimeException {
        final int status;

        ApiError(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    private void authenticate(RoutingContext ctx) {
        if (!("Bearer " + TOKEN).equals(ctx.request().getHeader("Authorization"))) {
            reply(ctx, error(401, "Unauthorized: no Bearer token was provided, or the token is invalid"));
            return;
        }
        ctx.next();
    }

    private void api(Router router, HttpMethod method, String path, String operation, Function<RoutingContext, Answer> work) {
        router.route(method, API_PATH + path).blockingHandler(ctx -> reply(ctx, serve(ctx, operation, work)), false);
    }

    private synchronized Answer serve(RoutingContext ctx, String operation, Function<RoutingContext, Answer> work) {
        calls.merge(operation, 1, Integer::sum);
        FailNext outage = failNext.get(operation);
        if (outage != null && outage.times > 0) {
            if (--outage.times <= 0) {
                failNext.remove(operation);
            }
            return error(outage.status, "Simulated outage");
        }
        Answer answer;
        try {
            answer = work.apply(ctx);
        } catch (ApiError e) {
            answer = error(e.status, e.getMessage());
        } catch (RuntimeException e) {
            LOG.errorf(e, "Sandbox alugha failed on %s", operation);
            answer = error(500, "Internal Server Error");
        }
        Integer lose = loseNext.get(operation);
        if (answer.status() < 300 && lose != null && lose > 0) {
            if (lose == 1) {
                loseNext.remove(operation);
            } else {
                loseNext.put(operation, lose - 1);
            }
            answer = error(502, "Bad Gateway");
        }
        return answer;
    }

    private void control(Router router, HttpMethod method, String path, Function<RoutingContext, Answer> action) {
        router.route(method, CONTROL_PATH + path).blockingHandler(ctx -> {
            Answer answer;
            try {
                answer = action.apply(ctx);
            } catch (ApiError e) {
                answer = error(e.status, e.getMessage());
            } catch (IllegalArgumentException e) {
                answer = error(400, e.getMessage());
            }
            reply(ctx, answer);
        }, false);
    }

    private static String required(RoutingContext ctx, String name) {
        String value = ctx.queryParams().get(name);
        if (value == null || value.isBlank()) {
            throw new ApiError(400, "query parameter '" + name + "' is required");
        }
        return value;
    }

    private void reply(RoutingContext ctx, Answer answer) {
        SimulatorHttp.reply(json, ctx, answer);
    }

    private static Answer error(int status, String message) {
        return new Answer(status, Map.of("status", status, "message", message));
    }

    private static void checkOperation(String operation) {
        if (!OPERATIONS.contains(operation)) {
            throw new IllegalArgumentException("unknown operation " + operation + "; one of " + OPERATIONS);
        }
    }

    // ================================================================ endpoints

    private Answer createVideo(RoutingContext ctx) {
        JsonNode body = jsonBody(ctx);
        JsonNode track = body.get("defaultTrack");
        if (track == null || !track.isObject()) {
            throw new ApiError(400, "defaultTrack is required");
        }
        String langCode = track.path("langCode").asText("");
        if (!LANG_CODE.matcher(langCode).matches()) {
            throw new ApiError(400, "defaultTrack.langCode must be an ISO 639-3 code, optionally with a country or region"
                    + " (deu, eng-us, spa-419), not '" + langCode + "'");
        }
        String title = track.path("title").asText("");
        if (title.isBlank()) {
            throw new ApiError(400, "defaultTrack.title is required");
        }
        String download = body.path("downloadFromUrl").asText(null);
        String webhook = body.path("statusWebhook").asText(null);
        for (String url : new String[]{download, webhook}) {
            if (url != null && !(url.startsWith("http://") || url.startsWith("https://"))) {
                throw new ApiError(400, "URLs must be http(s): " + url);
            }
        }
        Instant now = Instant.now();
        Video v = new Video();
        v.id = UUID.randomUUID().toString();
        v.created = now;
        v.modified = now;
        v.status = download == null ? "created" : DOWNLOADING;
        v.downloadFromUrl = download;
        v.statusWebhook = webhook;
        Track t = new Track();
        t.id = UUID.randomUUID().toString();
        t.videoId = v.id;
        t.langCode = langCode;
        t.title = title;
        t.description = track.path("description").asText("");
        v.defaultTrackId = t.id;
        videos.put(v.id, v);
        tracks.put(t.id, t);
        if (download != null) {
            lifecycle.execute(() -> fetch(v.id));
        }
        LOG.debugf("Sandbox alugha: video %s created, fetching %s", v.id, download == null ? "nothing" : UrlRedactor.redact(download));
        return ok(videoJson(v));
    }

    private Answer getVideo(String id) {
        Video v = videos.get(id);
        if (v == null) {
            throw new ApiError(404, "Not Found: no video " + id);
        }
        return ok(videoJson(v));
    }

    private Answer listTracks(String videoId) {
        if (videoId == null || videoId.isBlank()) {
            throw new ApiError(400, "query parameter videoId is required: tracks are listed per video");
        }
        if (!videos.containsKey(videoId)) {
            throw new ApiError(404, "Not Found: no video " + videoId);
        }
        return ok(tracks.values().stream().filter(t -> t.videoId.equals(videoId)).map(this::trackJson).toList());
    }

    private Answer getTrack(String id) {
        Track t = tracks.get(id);
        if (t == null) {
            throw new ApiError(404, "Not Found: no track " + id);
        }
        return ok(trackJson(t));
    }

    private Map<String, Object> videoJson(Video v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", v.id);
        m.put("created", v.created.toString());
        m.put("modified", v.modified.toString());
        m.put("status", v.status);
        if (v.error != null) {
            m.put("error", v.error);
        }
        m.put("defaultTrack", trackJson(tracks.get(v.defaultTrackId)));
        m.put("url", publicBase() + WATCH_PATH + "/" + v.id);
        return m;
    }

    private Map<String, Object> trackJson(Track t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", t.id);
        m.put("videoId", t.videoId);
        m.put("langCode", t.langCode);
        m.put("title", t.title);
        m.put("description", t.description);
        m.put("url", publicBase() + WATCH_PATH + "/" + t.videoId + "?lang=" + t.langCode);
        return m;
    }

    private JsonNode jsonBody(RoutingContext ctx) {
        Buffer buffer = ctx.body() == null ? null : ctx.body().buffer();
        if (buffer == null || buffer.length() == 0) {
            throw new ApiError(400, "Request body must be a JSON object");
        }
        try {
            JsonNode node = json.readTree(buffer.getBytes());
            if (node == null || !node.isObject()) {
                throw new ApiError(400, "Request body must be a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw new ApiError(400, "Invalid JSON body");
        }
    }

    // ================================================================ lifecycle

    /** Fetches downloadFromUrl as alugha would (no headers), checks it is a whole video, then moves on. */
    private void fetch(String videoId) {
        String url;
        synchronized (this) {
            Video v = videos.get(videoId);
            if (v == null) {
                return;
            }
            url = v.downloadFromUrl;
        }
        Path tmp = null;
        String failure = null;
        long bytes = -1;
        String type = null;
        try {
            tmp = Files.createTempFile("alugha-sim-", ".download");
            HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofMinutes(10)).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() != 200) {
                response.body().close();
                failure = "download of the source failed: HTTP " + response.statusCode();
            } else {
                long expected = response.headers().firstValueAsLong("Content-Length").orElse(-1);
                try (InputStream in = response.body(); OutputStream out = Files.newOutputStream(tmp)) {
                    bytes = in.transferTo(out);
                }
                if (expected >= 0 && bytes != expected) {
                    failure = "download of the source broke off: " + bytes + " of " + expected + " bytes";
                } else {
                    MediaInfo media = probe.probe(tmp);
                    type = media.mimeType();
                    if (!type.startsWith("video/")) {
                        failure = "the downloaded file is not a video but " + media.describe();
                    }
                }
            }
        } catch (IOException e) {
            failure = "download of the source failed: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } catch (RuntimeException e) {
            failure = "the downloaded file is not a video we can read: " + e.getMessage();
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
        synchronized (this) {
            Video v = videos.get(videoId);
            if (v == null) {
                return;
            }
            v.fetchedBytes = bytes;
            v.fetchedType = type;
            if (failure != null) {
                v.error = failure;
            }
        }
        advance(videoId, failure == null ? DOWNLOADED : FAILED);
    }

    /** Moves a video to {@code status}, tells its webhook, and schedules the next step. */
    private void advance(String videoId, String status) {
        String webhook;
        synchronized (this) {
            Video v = videos.get(videoId);
            if (v == null) {
                return;
            }
            v.status = status;
            v.modified = Instant.now();
            if (READY.equals(status)) {
                for (String code : tracksOnReady) {
                    Track t = new Track();
                    t.id = UUID.randomUUID().toString();
                    t.videoId = videoId;
                    t.langCode = code;
                    Track original = tracks.get(v.defaultTrackId);
                    t.title = original.title + " (" + code + ")";
                    t.description = original.description;
                    tracks.put(t.id, t);
                }
            }
            webhook = v.statusWebhook;
        }
        callWebhook(videoId, status, webhook);
        String next = switch (status) {
            case DOWNLOADED -> ENCODING;
            case ENCODING -> READY;
            default -> null;
        };
        if (next != null) {
            lifecycle.schedule(() -> advance(videoId, next), stageMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void callWebhook(String videoId, String status, String webhook) {
        if (webhook == null) {
            return;
        }
        boolean drop;
        synchronized (this) {
            drop = dropWebhooks;
        }
        int answer = 0;
        if (!drop) {
            try {
                String body = json.writeValueAsString(Map.of("videoId", videoId, "status", status));
                HttpResponse<Void> response = http.send(HttpRequest.newBuilder(URI.create(webhook)).timeout(Duration.ofSeconds(10))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build(), HttpResponse.BodyHandlers.discarding());
                answer = response.statusCode();
            } catch (IOException e) {
                LOG.debugf("Sandbox alugha: webhook for video %s unreachable: %s", videoId, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            webhookCalls.add(new WebhookCall(videoId, status, answer, drop));
        }
    }

    private synchronized long stageMillis() {
        return stageMillis >= 0 ? stageMillis : config.sandbox().stageDuration().toMillis();
    }

    private String publicBase() {
        String base = config.publicBaseUrl();
        return base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    }

    private synchronized Map<String, Object> snapshot() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("videos", videos.values().stream().map(this::videoJson).toList());
        m.put("calls", new TreeMap<>(calls));
        m.put("webhookCalls", webhookCalls);
        m.put("dropWebhooks", dropWebhooks);
        m.put("tracksOnReady", tracksOnReady);
        return m;
    }
}
