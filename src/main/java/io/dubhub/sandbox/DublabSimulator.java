package io.dubhub.sandbox;

import io.dubhub.sandbox.SimulatorHttp.Answer;
import static io.dubhub.sandbox.SimulatorHttp.ok;
import io.dubhub.sandbox.SimulatorHttp.FailNext;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Function;

/**
 * A stateful stand-in for dublab (providers/dublab-api-v1.md) at {@value #API_PATH}: same paths,
 * {@code apikey} auth, status lifecycle 1→2→3→5|4, {@code {"error":…}} bodies, credit checks and
 * billing on completion, both documented list shapes, and presigned upload/output links served by
 * {@link SandboxStorage}. Time moves lazily: each read works out from timestamps where a dub is,
 * so there are no timers and a restarted process picks up exactly where it stopped.
 */
@ApplicationScoped
@Named("dublabSimulator")
public class DublabSimulator {

    private static final Logger LOG = Logger.getLogger(DublabSimulator.class);

    public static final String API_KEY = "sandbox-dublab-key";
    public static final String API_PATH = "/sandbox/dublab/api/v1";
    public static final String CONTROL_PATH = "/sandbox/dublab/_control";

    public static final List<String> LANGUAGES = List.of(
            "en", "es", "fr", "de", "it", "pt", "pt-BR", "nl", "pl", "tr", "ru", "uk", "ar", "hi", "ja", "ko", "zh",
            "id", "sv", "da", "fi", "no", "cs", "ro", "hu", "el", "he", "th", "vi");

    public static final List<String> OPERATIONS = List.of("init-dub-group", "init-dub", "start-dub", "dubs", "outputs", "me");

    public static final long DEFAULT_CREDITS = 10_000;
    public static final Duration DEFAULT_OUTPUT_LINK_TTL = Duration.ofHours(1);
    /** dublab refuses sources longer than three hours. */
    static final double MAX_DURATION_SECONDS = 3 * 3600;
    static final Duration UPLOAD_URL_TTL = Duration.ofHours(1);

    @Inject
    HubConfig config;

    @Inject
    SandboxStorage storage;

    private final ObjectMapper json = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private final SecureRandom random = new SecureRandom();

    /** Guarded by {@code this}; loaded lazily from disk. */
    private State state;

    private static volatile byte[] posterJpeg;

    @PostConstruct
    void listenForUploads() {
        storage.onUpload(this::uploadCompleted);
    }

    // ================================================================ test controls (Java)

    /** Forget every dub, project, counter and injected failure; credits and knobs back to their defaults. */
    public synchronized void reset() {
        faults.clear();
        state = new State();
        save();
    }

    /** Re-read the persisted state, as a restarted process would. */
    public synchronized void reload() {
        state = null;
        state();
    }

    public synchronized void setCredits(long credits) {
        state().credits = credits;
        save();
    }

    public synchronized long credits() {
        State s = state();
        settle(s);
        save();
        return s.credits;
    }

    /** Every dub into {@code lang} that finishes from now on ends in status 4 with this message. */
    public synchronized void failLanguage(String lang, String message) {
        state().failLanguages.put(lang, message == null || message.isBlank() ? "Simulated failure" : message);
        save();
    }

    /** The next {@code times} calls of {@code operation} answer {@code httpStatus} without doing anything. */
    public synchronized void failNextCalls(String operation, int httpStatus, int times) {
        checkOperation(operation);
        if (httpStatus < 400 || httpStatus > 599) {
            throw new IllegalArgumentException("status must be an HTTP error status: " + httpStatus);
        }
        if (times <= 0) {
            state().failNext.remove(operation);
        } else {
            state().failNext.put(operation, new FailNext(httpStatus, times));
        }
        save();
    }

    /** The next call of {@code operation} does its work but answers 502, as if the answer got lost on the way. */
    public synchronized void loseNextAnswer(String operation) {
        checkOperation(operation);
        state().loseNext.merge(operation, 1, Integer::sum);
        save();
    }

    /**
     * Lifetime of the links in GET /projects/{id}/outputs only (negative = already expired), so a
     * test can hand the hub a stale link there while GET /dubs/{id}/outputs refreshes it.
     */
    public synchronized void setProjectOutputLinkTtl(Duration ttl) {
        state().projectOutputTtlSeconds = ttl.toSeconds();
        save();
    }

    public synchronized void setOutputLinkTtl(Duration ttl) {
        state().outputTtlSeconds = Math.max(0, ttl.toSeconds());
        save();
    }

    /** Length of each of the In Queue and Processing stages for dubs started from now on. */
    public synchronized void setStageDuration(Duration stage) {
        state().stageMillis = Math.max(0, stage.toMillis());
        save();
    }

    /** "array", "wrapped" or "alternate" (the default: array on even-numbered list calls, wrapped on odd). */
    public synchronized void setListShape(String shape) {
        if (!Set.of("array", "wrapped", "alternate").contains(shape)) {
            throw new IllegalArgumentException("list shape must be array, wrapped or alternate: " + shape);
        }
        state().listShape = shape;
        save();
    }

    /** Authenticated calls of one operation (see {@link #OPERATIONS}), answered or not. */
    public synchronized int calls(String operation) {
        return state().calls.getOrDefault(operation, 0);
    }

    public synchronized Map<String, Integer> calls() {
        Map<String, Integer> all = new LinkedHashMap<>();
        for (String op : OPERATIONS) {
            all.put(op, state().calls.getOrDefault(op, 0));
        }
        return all;
    }

    /** Current externalStatusId of a dub, or 0 if there is no such dub. */
    public synchronized int externalStatusId(String fileId) {
        State s = state();
        settle(s);
        save();
        Dub d = s.dubs.get(fileId);
        return d == null ? 0 : status(d, System.currentTimeMillis());
    }

    /** Number of projects created (each init-dub / init-dub-group that did its work). */
    public synchronized int projectCount() {
        return state().projects.size();
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
        router.route(API_PATH + "/*").handler(BodyHandler.create(false).setBodyLimit(64 * 1024));

        api(router, HttpMethod.GET, "/me", "me", (s, ctx, body) -> me(s));
        api(router, HttpMethod.POST, "/init-dub-group", "init-dub-group", this::initDubGroup);
        api(router, HttpMethod.POST, "/init-dub", "init-dub", this::initDub);
        api(router, HttpMethod.POST, "/start-dub", "start-dub", this::startDub);
        api(router, HttpMethod.GET, "/dubs", "dubs", (s, ctx, body) -> listDubs(s));
        api(router, HttpMethod.GET, "/dubs/:fileId/outputs", "outputs", (s, ctx, body) -> dubOutputs(s, ctx.pathParam("fileId")));
        api(router, HttpMethod.GET, "/projects/:projectId/outputs", "outputs",
                (s, ctx, body) -> projectOutputs(s, ctx.pathParam("projectId")));
        router.route(API_PATH + "/*").handler(ctx -> reply(ctx, error(404, "Not found: " + ctx.request().method() + " "
                + ctx.request().path().substring(API_PATH.length()))));

        control(router, HttpMethod.POST, "/reset", ctx -> {
            reset();
            return ok(Map.of("reset", true));
        });
        control(router, HttpMethod.GET, "/calls", ctx -> ok(calls()));
        control(router, HttpMethod.GET, "/credits", ctx -> ok(Map.of("credits", credits())));
        control(router, HttpMethod.POST, "/credits", ctx -> {
            setCredits(Long.parseLong(required(ctx, "value")));
            return ok(Map.of("credits", credits()));
        });
        control(router, HttpMethod.POST, "/fail-language", ctx -> {
            failLanguage(required(ctx, "lang"), ctx.queryParams().get("message"));
            return ok(Map.of("lang", required(ctx, "lang")));
        });
        control(router, HttpMethod.POST, "/fail-next", ctx -> {
            String times = ctx.queryParams().get("times");
            failNextCalls(required(ctx, "operation"), Integer.parseInt(required(ctx, "status")),
                    times == null ? 1 : Integer.parseInt(times));
            return ok(Map.of("operation", required(ctx, "operation")));
        });
        control(router, HttpMethod.POST, "/lose-next-answer", ctx -> {
            loseNextAnswer(required(ctx, "operation"));
            return ok(Map.of("operation", required(ctx, "operation")));
        });
        control(router, HttpMethod.POST, "/output-ttl", ctx -> {
            setOutputLinkTtl(Duration.ofSeconds(Long.parseLong(required(ctx, "seconds"))));
            return ok(Map.of("seconds", Long.parseLong(required(ctx, "seconds"))));
        });
        control(router, HttpMethod.POST, "/stage-duration", ctx -> {
            setStageDuration(Duration.ofMillis(Long.parseLong(required(ctx, "millis"))));
            return ok(Map.of("millis", Long.parseLong(required(ctx, "millis"))));
        });
        control(router, HttpMethod.POST, "/list-shape", ctx -> {
            setListShape(required(ctx, "shape"));
            return ok(Map.of("shape", required(ctx, "shape")));
        });
        control(router, HttpMethod.GET, "/state", ctx -> ok(snapshot()));
        LOG.infof("Sandbox dublab simulator serving %s (apikey %s)", baseUrl(), API_KEY);
    }

    @FunctionalInterface
    private interface Work {
        Answer apply(State state, RoutingContext ctx, JsonNode body);
    }


    /** An API error answered as dublab does: {@code {"error":"message"}} with its status. */
    private static final class ApiError extends RuntimeException {
        final int status;

        ApiError(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    private void authenticate(RoutingContext ctx) {
        if (!API_KEY.equals(ctx.request().getHeader("apikey"))) {
            reply(ctx, error(401, "Invalid or missing API key"));
            return;
        }
        ctx.next();
    }

    private void api(Router router, HttpMethod method, String path, String operation, Work work) {
        router.route(method, API_PATH + path).blockingHandler(ctx -> {
            String fault = takeFault(operation);
            if ("reset".equals(fault)) {
                // the connection drops before dublab did anything: the client sees a reset, no answer
                ctx.request().connection().close();
                return;
            }
            if ("hang".equals(fault)) {
                // dublab does the work, but its answer never comes (a stuck proxy, a dead connection the
                // client cannot see): only the client's own call timeout ends the wait
                serve(ctx, operation, work);
                return;
            }
            if ("malformed".equals(fault)) {
                // a proxy's error page with a 200: not the JSON the API promises
                ctx.response().setStatusCode(200).putHeader("Content-Type", "text/html").end("<html><body>502 upstream hiccup</body></html>");
                return;
            }
            reply(ctx, serve(ctx, operation, work));
        }, false);
    }

    /**
     * Network-level faults, for the fault-matrix tests: "reset" (connection closed, no answer), "malformed"
     * (200, not JSON) or "hang" (the call is carried out, then never answered).
     */
    private final Map<String, java.util.Deque<String>> faults = new java.util.concurrent.ConcurrentHashMap<>();

    public void injectFault(String operation, String kind, int times) {
        checkOperation(operation);
        if (!kind.equals("reset") && !kind.equals("malformed") && !kind.equals("hang")) {
            throw new IllegalArgumentException("fault must be reset, malformed or hang: " + kind);
        }
        java.util.Deque<String> q = faults.computeIfAbsent(operation, k -> new java.util.concurrent.ConcurrentLinkedDeque<>());
        for (int i = 0; i < times; i++) {
            q.add(kind);
        }
    }

    private String takeFault(String operation) {
        java.util.Deque<String> q = faults.get(operation);
        String kind = q == null ? null : q.poll();
        if (kind != null) {
            synchronized (this) {
                state().calls.merge(operation + ":" + kind, 1, Integer::sum);
            }
        }
        return kind;
    }

    private synchronized Answer serve(RoutingContext ctx, String operation, Work work) {
        State s = state();
        settle(s);
        s.calls.merge(operation, 1, Integer::sum);
        Answer answer;
        FailNext outage = s.failNext.get(operation);
        if (outage != null && outage.times > 0) {
            if (--outage.times <= 0) {
                s.failNext.remove(operation);
            }
            answer = error(outage.status, "Simulated outage");
        } else {
            try {
                JsonNode body = ctx.request().method() == HttpMethod.POST ? jsonBody(ctx) : null;
                answer = work.apply(s, ctx, body);
            } catch (ApiError e) {
                answer = error(e.status, e.getMessage());
            } catch (RuntimeException e) {
                LOG.errorf(e, "Sandbox dublab failed on %s", operation);
                answer = error(500, "Internal server error");
            }
            Integer lose = s.loseNext.get(operation);
            if (answer.status() < 300 && lose != null && lose > 0) {
                if (lose == 1) {
                    s.loseNext.remove(operation);
                } else {
                    s.loseNext.put(operation, lose - 1);
                }
                answer = error(502, "Bad gateway");
            }
        }
        save();
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

    private void reply(RoutingContext ctx, Answer answer) {
        SimulatorHttp.reply(json, ctx, answer);
    }


    private static Answer error(int status, String message) {
        return new Answer(status, Map.of("error", message));
    }

    // ================================================================ endpoints

    private Answer me(State s) {
        Map<String, Object> me = new LinkedHashMap<>();
        me.put("id", "sandbox-user");
        me.put("email", "sandbox@dubhub.local");
        me.put("credits", s.credits);
        return ok(me);
    }

    private Answer initDubGroup(State s, RoutingContext ctx, JsonNode body) {
        JsonNode langs = body.get("dest_langs");
        if (langs == null || !langs.isArray() || langs.isEmpty()) {
            throw new ApiError(400, "dest_langs must be a non-empty array of language codes");
        }
        List<String> dest = new ArrayList<>();
        for (JsonNode lang : langs) {
            dest.add(lang.isTextual() ? lang.asText() : lang.toString());
        }
        Project p = createProject(s, body, dest);
        List<Map<String, Object>> files = new ArrayList<>();
        for (String fileId : p.fileIds) {
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("fileId", fileId);
            f.put("language", s.dubs.get(fileId).language);
            files.add(f);
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("projectId", p.id);
        answer.put("uploadUrl", uploadUrl(p).toString());
        answer.put("files", files);
        return ok(answer);
    }

    private Answer initDub(State s, RoutingContext ctx, JsonNode body) {
        JsonNode lang = body.get("dest_lang");
        if (lang == null || lang.isNull() || (lang.isTextual() && lang.asText().isBlank())) {
            throw new ApiError(400, "dest_lang is required");
        }
        Project p = createProject(s, body, List.of(lang.isTextual() ? lang.asText() : lang.toString()));
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("fileId", p.fileIds.get(0));
        answer.put("projectId", p.id);
        answer.put("uploadUrl", uploadUrl(p).toString());
        return ok(answer);
    }

    private Project createProject(State s, JsonNode body, List<String> dest) {
        JsonNode fileType = body.get("fileType");
        if (fileType == null || !fileType.isTextual()
                || !(fileType.asText().startsWith("video/") || fileType.asText().startsWith("audio/"))) {
            throw new ApiError(400, "fileType must be a video/* or audio/* MIME type");
        }
        JsonNode name = body.get("name");
        if (name == null || !name.isTextual() || name.asText().isBlank()) {
            throw new ApiError(400, "name is required");
        }
        JsonNode duration = body.get("duration");
        if (duration == null || !duration.isNumber()) {
            throw new ApiError(400, "duration must be a number of seconds");
        }
        double seconds = duration.asDouble();
        if (!(seconds > 0)) {
            throw new ApiError(400, "duration must be greater than 0");
        }
        if (seconds > MAX_DURATION_SECONDS) {
            throw new ApiError(400, "Video too long: duration " + duration.asText() + " s exceeds the maximum of "
                    + (long) MAX_DURATION_SECONDS + " s (3 hours)");
        }
        JsonNode source = body.get("source_lang");
        if (source == null || !source.isTextual() || source.asText().isBlank()) {
            throw new ApiError(400, "source_lang is required");
        }
        if (!LANGUAGES.contains(source.asText())) {
            throw new ApiError(400, "Unsupported source_lang: " + source.asText());
        }
        Set<String> seen = new LinkedHashSet<>();
        for (String lang : dest) {
            if (!LANGUAGES.contains(lang)) {
                throw new ApiError(400, "Unsupported dest_lang: " + lang);
            }
            if (!seen.add(lang)) {
                throw new ApiError(400, "Duplicate dest_lang: " + lang);
            }
        }
        long need = minutes(seconds) * dest.size();
        if (s.credits < need) {
            throw new ApiError(402, "Insufficient credits: need " + need + ", have " + s.credits);
        }
        long now = System.currentTimeMillis();
        Project p = new Project();
        p.id = "prj_" + randomId();
        p.name = name.asText();
        p.fileType = fileType.asText();
        p.sourceLang = source.asText();
        p.duration = seconds;
        p.createdAt = now;
        p.uploadKey = "dublab/" + p.id + "/" + safeName(p.name);
        for (String lang : dest) {
            Dub d = new Dub();
            d.fileId = "fil_" + randomId();
            d.projectId = p.id;
            d.language = lang;
            d.createdAt = now;
            s.dubs.put(d.fileId, d);
            p.fileIds.add(d.fileId);
        }
        s.projects.put(p.id, p);
        return p;
    }

    private URI uploadUrl(Project p) {
        return storage.presignPut(p.uploadKey, p.fileType, UPLOAD_URL_TTL);
    }

    private Answer startDub(State s, RoutingContext ctx, JsonNode body) {
        JsonNode id = body.get("fileId");
        if (id == null || !id.isTextual() || id.asText().isBlank()) {
            throw new ApiError(400, "fileId is required");
        }
        Dub d = s.dubs.get(id.asText());
        if (d == null) {
            throw new ApiError(404, "Dub not found: " + id.asText());
        }
        Project p = s.projects.get(d.projectId);
        if (!p.uploaded && storage.exists(p.uploadKey)) {
            // The object landed while nobody was listening (e.g. a restart between PUT and notification).
            p.uploaded = true;
        }
        if (!p.uploaded) {
            throw new ApiError(412, "Upload not complete");
        }
        if (d.startedAt != null) {
            throw new ApiError(409, "Dub already started");
        }
        long need = minutes(p.duration);
        if (s.credits < need) {
            throw new ApiError(402, "Insufficient credits: need " + need + ", have " + s.credits);
        }
        long now = System.currentTimeMillis();
        long stage = stageMillis(s);
        d.startedAt = now;
        d.queuedUntil = now + stage;
        d.processingUntil = now + 2 * stage;
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("success", true);
        answer.put("fileId", d.fileId);
        answer.put("externalStatusId", 2);
        return ok(answer);
    }

    private Answer listDubs(State s) {
        long now = System.currentTimeMillis();
        List<Map<String, Object>> dubs = new ArrayList<>();
        for (Dub d : s.dubs.values()) {
            dubs.add(view(s, d, now));
        }
        boolean wrapped = switch (s.listShape) {
            case "array" -> false;
            case "wrapped" -> true;
            default -> s.listAnswers % 2 == 1;
        };
        s.listAnswers++;
        return ok(wrapped ? Map.of("dubs", dubs) : dubs);
    }

    private Answer dubOutputs(State s, String fileId) {
        Dub d = s.dubs.get(fileId);
        if (d == null) {
            throw new ApiError(404, "Dub not found: " + fileId);
        }
        return ok(outputsView(s, d, System.currentTimeMillis()));
    }

    private Answer projectOutputs(State s, String projectId) {
        Project p = s.projects.get(projectId);
        if (p == null) {
            throw new ApiError(404, "Project not found: " + projectId);
        }
        long now = System.currentTimeMillis();
        List<Map<String, Object>> dubs = new ArrayList<>();
        for (String fileId : p.fileIds) {
            dubs.add(outputsView(s, s.dubs.get(fileId), now, s.projectOutputTtlSeconds != null ? s.projectOutputTtlSeconds : s.outputTtlSeconds));
        }
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("projectId", p.id);
        answer.put("expiresIn", s.outputTtlSeconds);
        answer.put("dubs", dubs);
        return ok(answer);
    }

    private Map<String, Object> view(State s, Dub d, long now) {
        Project p = s.projects.get(d.projectId);
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("id", d.fileId);
        v.put("fileId", d.fileId);
        v.put("projectId", d.projectId);
        v.put("name", p.name);
        v.put("language", d.language);
        v.put("source_lang", p.sourceLang);
        v.put("source", "api");
        v.put("externalStatusId", status(d, now));
        v.put("externalErrorMessage", d.errorMessage);
        v.put("createdAt", Instant.ofEpochMilli(d.createdAt).toString());
        v.put("measuredDuration", seconds(d.measuredDuration));
        return v;
    }

    private Map<String, Object> outputsView(State s, Dub d, long now) {
        return outputsView(s, d, now, s.outputTtlSeconds);
    }

    private Map<String, Object> outputsView(State s, Dub d, long now, long ttlSeconds) {
        Duration ttl = Duration.ofSeconds(ttlSeconds);
        Map<String, Object> outputs = new LinkedHashMap<>();
        if (status(d, now) == 5) {
            d.outputs.forEach((type, key) -> {
                String file = key.substring(key.lastIndexOf('/') + 1);
                Map<String, Object> links = new LinkedHashMap<>();
                links.put("url", storage.presignGet(key, ttl).toString());
                links.put("downloadUrl", storage.presignGet(key, ttl) + "&" + SandboxStorage.P_DISPOSITION + "="
                        + URLEncoder.encode("attachment; filename=\"" + file + "\"", StandardCharsets.UTF_8));
                outputs.put(type, links);
            });
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("fileId", d.fileId);
        v.put("projectId", d.projectId);
        v.put("language", d.language);
        v.put("externalStatusId", status(d, now));
        v.put("externalErrorMessage", d.errorMessage);
        v.put("expiresIn", s.outputTtlSeconds);
        v.put("outputs", outputs);
        return v;
    }

    private synchronized Map<String, Object> snapshot() {
        State s = state();
        settle(s);
        save();
        long now = System.currentTimeMillis();
        List<Map<String, Object>> projects = new ArrayList<>();
        for (Project p : s.projects.values()) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("projectId", p.id);
            v.put("name", p.name);
            v.put("fileType", p.fileType);
            v.put("duration", seconds(p.duration));
            v.put("uploadKey", p.uploadKey);
            v.put("uploaded", p.uploaded);
            v.put("fileIds", p.fileIds);
            projects.add(v);
        }
        List<Map<String, Object>> dubs = new ArrayList<>();
        for (Dub d : s.dubs.values()) {
            dubs.add(view(s, d, now));
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("credits", s.credits);
        v.put("calls", calls());
        v.put("stageMillis", stageMillis(s));
        v.put("outputTtlSeconds", s.outputTtlSeconds);
        v.put("listShape", s.listShape);
        v.put("failLanguages", s.failLanguages);
        v.put("projects", projects);
        v.put("dubs", dubs);
        return v;
    }

    // ================================================================ lifecycle

    private void uploadCompleted(String key) {
        if (!key.startsWith("dublab/")) {
            return;
        }
        synchronized (this) {
            State s = state();
            for (Project p : s.projects.values()) {
                if (p.uploadKey.equals(key)) {
                    // Files stay at 1 "Uploading" until start-dub; the project just knows its media is there.
                    p.uploaded = true;
                    save();
                    return;
                }
            }
        }
    }

    private static int status(Dub d, long now) {
        if (d.finalStatus != null) {
            return d.finalStatus;
        }
        if (d.startedAt == null) {
            return 1;
        }
        return now < d.queuedUntil ? 2 : 3;
    }

    /** Finishes every dub whose Processing stage is over: outputs, or the injected failure; bills once. */
    private void settle(State s) {
        long now = System.currentTimeMillis();
        for (Dub d : s.dubs.values()) {
            if (d.startedAt == null || d.finalStatus != null || now < d.processingUntil) {
                continue;
            }
            Project p = s.projects.get(d.projectId);
            String failure = s.failLanguages.get(d.language);
            if (failure != null) {
                d.finalStatus = 4;
                d.errorMessage = failure;
            } else {
                try {
                    d.outputs = produceOutputs(p, d);
                    d.finalStatus = 5;
                    d.measuredDuration = p.duration;
                    // Billing on completion against the measured duration (doc, Notes).
                    long cost = minutes(p.duration);
                    s.credits -= cost;
                    d.chargedCredits = cost;
                } catch (RuntimeException e) {
                    LOG.warnf("Sandbox dublab could not produce outputs of %s: %s", d.fileId, e.getMessage());
                    d.finalStatus = 4;
                    d.errorMessage = "Could not process the uploaded media";
                }
            }
            d.finishedAt = d.processingUntil;
        }
    }

    private Map<String, String> produceOutputs(Project p, Dub d) {
        String prefix = "dublab/" + p.id + "/" + d.fileId + "/";
        String name = safeName(p.name);
        int dot = name.lastIndexOf('.');
        String stem = dot > 0 ? name.substring(0, dot) : name;
        Map<String, String> out = new LinkedHashMap<>();
        out.put("translated_mp4", prefix + stem + "_" + d.language + ".mp4");
        out.put("translated_mp3", prefix + stem + "_" + d.language + ".mp3");
        out.put("translated_subtitle", prefix + stem + "_" + d.language + ".srt");
        out.put("original_subtitle", prefix + stem + "_original_" + p.sourceLang + ".srt");
        out.put("original_mp3", prefix + stem + "_original.mp3");
        out.put("poster", prefix + stem + "_poster.jpg");

        storage.putFile(out.get("translated_mp4"), storage.pathOf(p.uploadKey));
        storage.putBytes(out.get("translated_mp3"), mp3(d.language.hashCode()));
        storage.putBytes(out.get("translated_subtitle"), srt(d.language, p).getBytes(StandardCharsets.UTF_8));
        storage.putBytes(out.get("original_subtitle"), srt(p.sourceLang, p).getBytes(StandardCharsets.UTF_8));
        storage.putBytes(out.get("original_mp3"), mp3(p.sourceLang.hashCode() ^ 0x5a5a));
        storage.putBytes(out.get("poster"), poster());
        return out;
    }

    /** An ID3v2.4 tag followed by ten silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz): a few KB a player accepts. */
    static byte[] mp3(int seed) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 0});
        for (int i = 0; i < 10; i++) {
            byte[] frame = new byte[417];
            frame[0] = (byte) 0xFF;
            frame[1] = (byte) 0xFB;
            frame[2] = (byte) 0x90;
            frame[3] = (byte) 0x64;
            // a byte of ancillary data at the end so different languages give different files
            frame[416] = (byte) (seed >>> (8 * (i % 4)));
            out.writeBytes(frame);
        }
        return out.toByteArray();
    }

    static String srt(String lang, Project p) {
        StringBuilder srt = new StringBuilder();
        int cues = (int) Math.max(1, Math.min(3, Math.ceil(p.duration / 4)));
        for (int i = 0; i < cues; i++) {
            srt.append(i + 1).append('\n')
                    .append(timecode(i * 4000L)).append(" --> ").append(timecode(i * 4000L + 3500)).append('\n')
                    .append('[').append(lang).append("] dubhub sandbox line ").append(i + 1).append(" of ").append(p.name)
                    .append("\n\n");
        }
        return srt.toString();
    }

    private static String timecode(long millis) {
        return String.format(Locale.ROOT, "%02d:%02d:%02d,%03d",
                millis / 3_600_000, (millis / 60_000) % 60, (millis / 1000) % 60, millis % 1000);
    }

    static byte[] poster() {
        byte[] jpeg = posterJpeg;
        if (jpeg == null) {
            BufferedImage image = new BufferedImage(32, 18, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = image.createGraphics();
            g.setColor(new Color(0x2b, 0x5d, 0x8c));
            g.fillRect(0, 0, 32, 18);
            g.dispose();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                if (!ImageIO.write(image, "jpg", out)) {
                    throw new IllegalStateException("no JPEG writer");
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            jpeg = out.toByteArray();
            posterJpeg = jpeg;
        }
        return jpeg.clone();
    }

    // ================================================================ state

    private State state() {
        if (state == null) {
            state = load();
        }
        return state;
    }

    private Path stateFile() {
        return Path.of(config.dataDir()).toAbsolutePath().normalize().resolve(".sandbox").resolve("dublab-sim.json");
    }

    private State load() {
        Path file = stateFile();
        if (Files.isRegularFile(file)) {
            try {
                State loaded = json.readValue(file.toFile(), State.class);
                LOG.infof("Sandbox dublab simulator resumed %d project(s) from %s", loaded.projects.size(), file);
                return loaded;
            } catch (IOException e) {
                Path aside = file.resolveSibling("dublab-sim.json.broken-" + System.currentTimeMillis());
                LOG.warnf("Sandbox dublab state %s is unreadable (%s); starting empty, old file kept as %s",
                        file, e.getMessage(), aside.getFileName());
                try {
                    Files.move(file, aside);
                } catch (IOException ignored) {
                    // starting empty is what matters
                }
            }
        }
        return new State();
    }

    /** Small file, written whole after every change: temp file then atomic rename, so a crash leaves the old or the new. */
    private void save() {
        Path file = stateFile();
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling("dublab-sim.json." + UUID.randomUUID() + ".tmp");
            json.writeValue(tmp.toFile(), state());
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the sandbox dublab state to " + file, e);
        }
    }

    private long stageMillis(State s) {
        return s.stageMillis >= 0 ? s.stageMillis : config.sandbox().stageDuration().toMillis();
    }

    /** Whole seconds print as integers (120, not 120.0), as a JavaScript API would send them. */
    private static Object seconds(Double seconds) {
        if (seconds == null) {
            return null;
        }
        return seconds % 1 == 0 ? (Object) seconds.longValue() : seconds;
    }

    private static long minutes(double seconds) {
        return (long) Math.ceil(seconds / 60.0);
    }

    private static void checkOperation(String operation) {
        if (!OPERATIONS.contains(operation)) {
            throw new IllegalArgumentException("unknown operation '" + operation + "', expected one of " + OPERATIONS);
        }
    }

    private String randomId() {
        final String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder id = new StringBuilder(16);
        for (int i = 0; i < 16; i++) {
            id.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return id.toString();
    }

    /** The uploaded name as a single, harmless path segment of the storage key. */
    static String safeName(String name) {
        String last = name.replace('\\', '/');
        last = last.substring(last.lastIndexOf('/') + 1);
        String safe = last.replaceAll("[^\\p{L}\\p{N}._ -]", "_").trim();
        if (safe.isEmpty() || safe.chars().allMatch(c -> c == '.')) {
            safe = "source";
        }
        return safe;
    }

    // Persisted form. Public fields so Jackson reads and writes them without ceremony.

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public static class State {
        public long credits = DEFAULT_CREDITS;
        public Map<String, Integer> calls = new TreeMap<>();
        public Map<String, Project> projects = new LinkedHashMap<>();
        public Map<String, Dub> dubs = new LinkedHashMap<>();
        public Map<String, String> failLanguages = new TreeMap<>();
        public Map<String, FailNext> failNext = new TreeMap<>();
        public Map<String, Integer> loseNext = new TreeMap<>();
        /** Negative: use hub.sandbox.stage-duration. */
        public long stageMillis = -1;
        public long outputTtlSeconds = DEFAULT_OUTPUT_LINK_TTL.toSeconds();
        public Long projectOutputTtlSeconds;
        public String listShape = "alternate";
        public long listAnswers;
    }

    public static class Project {
        public String id;
        public String name;
        public String fileType;
        public String sourceLang;
        public double duration;
        public long createdAt;
        public String uploadKey;
        public boolean uploaded;
        public List<String> fileIds = new ArrayList<>();
    }

    public static class Dub {
        public String fileId;
        public String projectId;
        public String language;
        public long createdAt;
        public Long startedAt;
        public long queuedUntil;
        public long processingUntil;
        public Long finishedAt;
        public Integer finalStatus;
        public String errorMessage;
        public Double measuredDuration;
        public long chargedCredits;
        public Map<String, String> outputs = new LinkedHashMap<>();
    }

}
