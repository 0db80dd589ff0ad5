package io.dubhub.sandbox;

import io.dubhub.sandbox.SimulatorHttp.Answer;
import static io.dubhub.sandbox.SimulatorHttp.ok;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.dubhub.config.HubConfig;
import io.dubhub.media.MediaInfo;
import io.dubhub.media.MediaProbe;
import io.quarkus.vertx.http.runtime.RouteConstants;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stateful stand-in for Perso AI (shared/providers/perso-api.md) under {@value #API_PATH}: the
 * documented paths, {@code XP-API-KEY} auth, error codes, space, SAS token, register video, queue
 * (translate fails with "space queue not found" until it is initialised), translate into one
 * project per language, progressReason lifecycle, project list, download-info and download with
 * relative {@code /perso-storage/...} links served at {@value #MEDIA_PATH}. Beside it an
 * Azure-like blob endpoint at {@value #BLOB_PATH}: SAS signature and expiry checked (403
 * AuthenticationFailed), {@code x-ms-blob-type} required (400), XP-API-KEY refused, Put Block
 * and Put Block List. Every request is logged with its time so tests can check poll spacing.
 * Time moves lazily as in {@link DublabSimulator}; state is kept in .sandbox/perso-sim.json.
 */
@ApplicationScoped
@Named("persoSimulator")
public class PersoSimulator {

    private static final Logger LOG = Logger.getLogger(PersoSimulator.class);

    public static final String API_KEY = "sandbox-perso-key";
    public static final String API_PATH = "/sandbox/perso";
    public static final String BLOB_PATH = "/sandbox/perso-blob/";
    public static final String MEDIA_PATH = "/sandbox/perso-media";
    public static final String CONTROL_PATH = "/sandbox/perso-control";
    public static final long SPACE_SEQ = 1;
    public static final long DEFAULT_CREDITS = 10_000;
    static final long DEFAULT_SAS_TTL_SECONDS = 30 * 60;
    static final int MAX_LOG = 5000;

    public static final List<String> LANGUAGES = List.of("en", "ko", "ja", "zh", "es", "fr", "de", "it", "pt", "ru", "ar", "hi",
            "id", "vi", "th", "tr", "pl", "nl", "sv", "da", "fi", "no", "cs", "ro", "hu", "el", "uk", "ms", "fil", "he",
            "bg", "hr", "sk", "ta");
    static final List<String> TTS_MODELS = List.of("ELEVEN_V2", "ELEVEN_V3");
    static final List<String> STAGES = List.of("Enqueue Pending", "Uploading", "Transcribing", "Translating", "Generating Voice");
    static final List<String> LIP_SYNC_STAGES = List.of("Analyzing Lip Sync", "Applying Lip Sync");

    @Inject
    HubConfig config;

    @Inject
    SandboxStorage storage;

    @Inject
    MediaProbe probe;

    private final ObjectMapper json = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    /** Guarded by {@code this}. */
    private State state;

    // ================================================================ test controls (Java)

    /** Forget projects, media, counters, log and injected failures; the signing secret and initialised queues stay, as on Perso. */
    public synchronized void reset() {
        String secret = state().secret;
        TreeSet<Long> queues = state().queues;
        state = new State();
        state.secret = secret;
        state.queues = queues;
        save();
    }

    public synchronized void setCredits(long credits) {
        state().credits = credits;
        save();
    }

    public synchronized long credits() {
        return state().credits;
    }

    public synchronized void setStageDuration(Duration d) {
        state().stageMillis = Math.max(0, d.toMillis());
        save();
    }

    /** Lifetime of SAS URLs handed out from now on; negative = already expired. */
    public synchronized void setSasTtl(Duration ttl) {
        state().sasTtlSeconds = ttl.toSeconds();
        save();
    }

    /** The next {@code times} calls of {@code operation} answer this error without doing anything. */
    public synchronized void failNext(String operation, int status, String code, String message, int times) {
        FailNext f = new FailNext();
        f.status = status;
        f.code = code;
        f.message = message == null ? "Simulated failure" : message;
        f.times = times;
        state().failNext.put(operation, f);
        save();
    }

    /** The next call of {@code operation} does its work but answers 502, as if the answer got lost on the way. */
    public synchronized void loseNextAnswer(String operation) {
        state().loseNext.merge(operation, 1, Integer::sum);
        save();
    }

    /** Projects into {@code lang} created from now on end in progressReason Failed. */
    public synchronized void failLanguage(String lang, String message) {
        state().failLanguages.put(lang, message == null ? "Simulated failure" : message);
        save();
    }

    public synchronized int calls(String operation) {
        return state().calls.getOrDefault(operation, 0);
    }

    public synchronized Map<String, Integer> calls() {
        return new TreeMap<>(state().calls);
    }

    public synchronized List<Request> requests() {
        return List.copyOf(state().requests);
    }

    public synchronized int projectCount() {
        return state().projects.size();
    }

    public synchronized boolean queueInitialised(long space) {
        return state().queues.contains(space);
    }

    /** Forget queue initialisation, as for a brand-new space. */
    public synchronized void dropQueues() {
        state().queues.clear();
        save();
    }

    public String apiBaseUrl() {
        return base() + API_PATH;
    }

    // ================================================================ HTTP

    void register(@Observes Router router) {
        if (!config.sandbox().enabled()) {
            return;
        }
        // The blob endpoint is cloud storage: before Quarkus' body-size gate, streamed to disk.
        router.route(BLOB_PATH + "*").method(HttpMethod.PUT).order(RouteConstants.ROUTE_ORDER_UPLOAD_LIMIT - 1).handler(this::blobPut);
        router.route(MEDIA_PATH + "/perso-storage/*").method(HttpMethod.GET).handler(this::mediaGet);

        router.route(API_PATH + "/*").handler(this::authenticate);
        router.route(API_PATH + "/*").handler(BodyHandler.create(false).setBodyLimit(64 * 1024));
        String vt = "/video-translator/api/v1";
        api(router, HttpMethod.GET, "/portal/api/v1/spaces", "spaces", (s, ctx, b) -> spaces());
        api(router, HttpMethod.GET, "/portal/api/v1/spaces/:spaceSeq", "space", (s, ctx, b) -> space(ctx));
        api(router, HttpMethod.GET, "/file/api/upload/sas-token", "sas-token", this::sasToken);
        api(router, HttpMethod.PUT, "/file/api/upload/video", "upload-video", this::uploadVideo);
        api(router, HttpMethod.PUT, vt + "/projects/spaces/:spaceSeq/queue", "queue", this::queue);
        api(router, HttpMethod.GET, vt + "/projects/spaces/:spaceSeq/queue", "queue", this::queue);
        api(router, HttpMethod.POST, vt + "/projects/spaces/:spaceSeq/translate", "translate", this::translate);
        api(router, HttpMethod.GET, vt + "/projects/spaces/:spaceSeq/plan/status", "plan-status", this::planStatus);
        api(router, HttpMethod.GET, vt + "/projects/spaces/:spaceSeq/media/quota", "estimate-quota", this::estimateQuota);
        api(router, HttpMethod.GET, vt + "/projects/spaces/:spaceSeq", "list-projects", this::listProjects);
        api(router, HttpMethod.GET, vt + "/projects/:projectSeq/space/:spaceSeq/progress", "progress", this::progress);
        api(router, HttpMethod.GET, vt + "/projects/:projectSeq/spaces/:spaceSeq/download-info", "download-info", this::downloadInfo);
        api(router, HttpMethod.GET, vt + "/projects/:projectSeq/spaces/:spaceSeq/download", "download", this::download);
        api(router, HttpMethod.GET, vt + "/projects/:projectSeq/spaces/:spaceSeq", "project", this::getProject);
        api(router, HttpMethod.GET, vt + "/languages", "languages", (s, ctx, b) -> languages());
        router.route(API_PATH + "/*").handler(ctx -> reply(ctx, error(404, null, "Not found: " + ctx.request().method() + " "
                + ctx.request().path().substring(API_PATH.length()))));

        control(router, HttpMethod.POST, "/reset", ctx -> {
            reset();
            return ok(Map.of("reset", true));
        });
        control(router, HttpMethod.GET, "/calls", ctx -> ok(calls()));
        control(router, HttpMethod.GET, "/requests", ctx -> ok(requests()));
        control(router, HttpMethod.GET, "/credits", ctx -> ok(Map.of("credits", credits())));
        control(router, HttpMethod.POST, "/credits", ctx -> {
            setCredits(Long.parseLong(required(ctx, "value")));
            return ok(Map.of("credits", credits()));
        });
        control(router, HttpMethod.POST, "/stage-duration", ctx -> {
            setStageDuration(Duration.ofMillis(Long.parseLong(required(ctx, "millis"))));
            return ok(Map.of("millis", Long.parseLong(required(ctx, "millis"))));
        });
        control(router, HttpMethod.POST, "/sas-ttl", ctx -> {
            setSasTtl(Duration.ofSeconds(Long.parseLong(required(ctx, "seconds"))));
            return ok(Map.of("seconds", Long.parseLong(required(ctx, "seconds"))));
        });
        control(router, HttpMethod.POST, "/fail-next", ctx -> {
            String times = ctx.queryParams().get("times");
            failNext(required(ctx, "operation"), Integer.parseInt(required(ctx, "status")), ctx.queryParams().get("code"),
                    ctx.queryParams().get("message"), times == null ? 1 : Integer.parseInt(times));
            return ok(Map.of("operation", required(ctx, "operation")));
        });
        control(router, HttpMethod.POST, "/lose-next-answer", ctx -> {
            loseNextAnswer(required(ctx, "operation"));
            return ok(Map.of("operation", required(ctx, "operation")));
        });
        control(router, HttpMethod.POST, "/fail-language", ctx -> {
            failLanguage(required(ctx, "lang"), ctx.queryParams().get("message"));
            return ok(Map.of("lang", required(ctx, "lang")));
        });
        control(router, HttpMethod.GET, "/state", ctx -> {
            synchronized (this) {
                return ok(state());
            }
        });
        LOG.infof("Sandbox Perso simulator serving %s (XP-API-KEY %s), blobs at %s", apiBaseUrl(), API_KEY, base() + BLOB_PATH);
    }

    @FunctionalInterface
    private interface Work {
        Answer apply(State state, RoutingContext ctx, JsonNode body);
    }


    private static final class ApiError extends RuntimeException {
        final int status;
        final String code;

        ApiError(int status, String code, String message) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
        }
    }

    private void authenticate(RoutingContext ctx) {
        if (!API_KEY.equals(ctx.request().getHeader("XP-API-KEY"))) {
            synchronized (this) {
                log(state(), ctx.request().method().name(), ctx.request().path(), "unauthenticated", 401);
                save();
            }
            reply(ctx, error(401, "F4001", "Unauthorized: XP-API-KEY header missing or invalid"));
            return;
        }
        ctx.next();
    }

    private void api(Router router, HttpMethod method, String path, String operation, Work work) {
        router.route(method, API_PATH + path).blockingHandler(ctx -> reply(ctx, serve(ctx, operation, work)), false);
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
            answer = error(outage.status, outage.code, outage.message);
        } else {
            try {
                JsonNode body = ctx.request().method() == HttpMethod.POST || ctx.request().method() == HttpMethod.PUT ? jsonBody(ctx) : null;
                answer = work.apply(s, ctx, body);
            } catch (ApiError e) {
                answer = error(e.status, e.code, e.getMessage());
            } catch (RuntimeException e) {
                LOG.errorf(e, "Sandbox Perso failed on %s", operation);
                answer = error(500, null, "Internal server error");
            }
            Integer lose = s.loseNext.get(operation);
            if (answer.status() < 300 && lose != null && lose > 0) {
                if (lose == 1) {
                    s.loseNext.remove(operation);
                } else {
                    s.loseNext.put(operation, lose - 1);
                }
                answer = error(502, null, "Bad gateway");
            }
        }
        log(s, ctx.request().method().name(), ctx.request().path(), operation, answer.status());
        save();
        return answer;
    }

    private static void log(State s, String method, String path, String operation, int status) {
        s.requests.add(new Request(System.currentTimeMillis(), method, path, operation, status));
        if (s.requests.size() > MAX_LOG) {
            s.requests.remove(0);
        }
    }

    private void control(Router router, HttpMethod method, String path, Function<RoutingContext, Answer> action) {
        router.route(method, CONTROL_PATH + path).blockingHandler(ctx -> {
            Answer answer;
            try {
                answer = action.apply(ctx);
            } catch (ApiError e) {
                answer = error(e.status, e.code, e.getMessage());
            } catch (IllegalArgumentException e) {
                answer = error(400, null, e.getMessage());
            }
            reply(ctx, answer);
        }, false);
    }

    private static String required(RoutingContext ctx, String name) {
        String value = ctx.queryParams().get(name);
        if (value == null || value.isBlank()) {
            throw new ApiError(400, "F4003", "Missing required parameter: " + name);
        }
        return value;
    }

    private JsonNode jsonBody(RoutingContext ctx) {
        Buffer buffer = ctx.body() == null ? null : ctx.body().buffer();
        if (buffer == null || buffer.length() == 0) {
            return json.createObjectNode();
        }
        try {
            JsonNode node = json.readTree(buffer.getBytes());
            if (node == null || !node.isObject()) {
                throw new ApiError(400, "F4003", "Request body must be a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw new ApiError(400, "F4003", "Invalid JSON body");
        }
    }

    private void reply(RoutingContext ctx, Answer answer) {
        SimulatorHttp.reply(json, ctx, answer);
    }


    private static Answer error(int status, String code, String message) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("status", status);
        if (code != null) {
            b.put("code", code);
        }
        b.put("message", message);
        return new Answer(status, b);
    }

    // ================================================================ API endpoints

    private static Map<String, Object> spaceView() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("spaceSeq", SPACE_SEQ);
        v.put("spaceName", "Sandbox Space");
        v.put("planName", "Pro");
        v.put("tier", "team");
        v.put("memberCount", 1);
        v.put("seat", 10);
        v.put("isDefaultSpaceOwned", true);
        v.put("memberRole", "space_owner");
        v.put("useVideoTranslatorEdit", true);
        return v;
    }

    private Answer spaces() {
        return ok(Map.of("result", List.of(spaceView())));
    }

    private Answer space(RoutingContext ctx) {
        checkSpace(ctx);
        return ok(Map.of("result", spaceView()));
    }

    private static long checkSpace(RoutingContext ctx) {
        long seq;
        try {
            seq = Long.parseLong(ctx.pathParam("spaceSeq"));
        } catch (NumberFormatException e) {
            seq = -1;
        }
        if (seq != SPACE_SEQ) {
            throw new ApiError(404, "PT0026", "Space subscription info not found");
        }
        return seq;
    }

    private Answer sasToken(State s, RoutingContext ctx, JsonNode body) {
        String fileName = required(ctx, "fileName");
        String container = "perso-upload";
        String path = UUID.randomUUID() + "/" + DublabSimulator.safeName(fileName).replace(' ', '_');
        Instant expiry = Instant.now().plusSeconds(s.sasTtlSeconds).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        String se = expiry.toString();
        String blobPath = container + "/" + path;
        String url = base() + BLOB_PATH + blobPath + "?sv=2024-11-04&se=" + enc(se) + "&sr=b&sp=rw&sig=" + enc(sign(s, "rw", blobPath, se));
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("blobSasUrl", url);
        v.put("expirationDatetime", expiry.toString().replace("Z", ""));
        return ok(v);
    }

    private Answer uploadVideo(State s, RoutingContext ctx, JsonNode body) {
        if (!body.hasNonNull("spaceSeq") || !body.hasNonNull("fileUrl") || !body.hasNonNull("fileName")) {
            throw new ApiError(400, "F4003", "Missing required parameter: spaceSeq, fileUrl and fileName are required");
        }
        if (body.get("spaceSeq").asLong() != SPACE_SEQ) {
            throw new ApiError(404, "PT0026", "Space subscription info not found");
        }
        String fileUrl = body.get("fileUrl").asText();
        if (fileUrl.contains("?")) {
            throw new ApiError(400, "F4003", "fileUrl must be the blob URL without its SAS query string");
        }
        int at = fileUrl.indexOf(BLOB_PATH);
        String blobPath = at < 0 ? null : URLDecoder.decode(fileUrl.substring(at + BLOB_PATH.length()), StandardCharsets.UTF_8);
        if (blobPath == null || !storage.exists(blobKey(blobPath))) {
            throw new ApiError(400, "F4003", "No uploaded file at fileUrl " + fileUrl);
        }
        Path file = storage.pathOf(blobKey(blobPath));
        MediaInfo media;
        try {
            media = probe.probe(file);
        } catch (RuntimeException e) {
            throw new ApiError(400, "F4007", "Invalid video type");
        }
        if (!media.hasVideo() || media.duration() == null) {
            throw new ApiError(400, "F4007", "Invalid video type");
        }
        Media m = new Media();
        m.seq = ++s.lastMediaSeq;
        m.blobKey = blobKey(blobPath);
        m.fileName = URLDecoder.decode(body.get("fileName").asText(), StandardCharsets.UTF_8);
        m.durationMs = media.duration().toMillis();
        m.size = media.sizeBytes();
        s.media.put(m.seq, m);
        int dot = m.fileName.lastIndexOf('.');
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("seq", m.seq);
        v.put("originalName", dot > 0 ? m.fileName.substring(0, dot) : m.fileName);
        v.put("videoFilePath", "/perso-storage/" + m.blobKey);
        v.put("thumbnailFilePath", "/perso-storage/" + m.blobKey + ".webp");
        v.put("size", m.size);
        v.put("durationMs", m.durationMs);
        return ok(v);
    }

    private Answer queue(State s, RoutingContext ctx, JsonNode body) {
        long space = checkSpace(ctx);
        s.queues.add(space);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("userSeq", 12345);
        data.put("planName", "Pro");
        data.put("usedQueueCount", s.projects.values().stream().filter(p -> !p.finished).count());
        data.put("maxQueueCount", 10);
        data.put("redZoneQueueCount", 0);
        return ok(Map.of("success", true, "data", data));
    }

    /** The space's quota: the sandbox's credits, which translate spends (see {@link #quotaFor}). */
    private Answer planStatus(State s, RoutingContext ctx, JsonNode body) {
        long space = checkSpace(ctx);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("spaceSeq", space);
        result.put("planTier", "creator");
        result.put("remainingQuota", Map.of("remainingQuota", s.credits));
        result.put("resetDateTime", java.time.LocalDate.now(java.time.ZoneOffset.UTC).withDayOfMonth(1).plusMonths(1)
                .atStartOfDay(java.time.ZoneOffset.UTC).minusSeconds(1).toInstant().toString());
        result.put("isCancellationScheduled", false);
        return ok(Map.of("result", result));
    }

    private Answer estimateQuota(State s, RoutingContext ctx, JsonNode body) {
        checkSpace(ctx);
        String type = ctx.queryParams().get("mediaType");
        String lip = ctx.queryParams().get("lipSync");
        String duration = ctx.queryParams().get("durationMs");
        if (type == null || lip == null || duration == null) {
            throw new ApiError(400, "F4003", "Missing required parameter: mediaType, lipSync and durationMs are required");
        }
        if (!type.equals("VIDEO") && !type.equals("AUDIO")) {
            throw new ApiError(400, "F4003", "mediaType must be VIDEO or AUDIO");
        }
        String languages = ctx.queryParams().get("targetLanguageSize");
        return ok(Map.of("result", Map.of("expectedUsedQuota",
                quotaFor(Long.parseLong(duration), languages == null ? 1 : Integer.parseInt(languages)))));
    }

    /** The sandbox's price: one unit per started minute per target language, what translate takes (refunded on failure). */
    static long quotaFor(long durationMs, int languages) {
        return (long) Math.ceil(durationMs / 60000.0) * languages;
    }

    private Answer translate(State s, RoutingContext ctx, JsonNode body) {
        long space = checkSpace(ctx);
        if (!body.hasNonNull("mediaSeq") || !body.hasNonNull("isVideoProject") || !body.hasNonNull("sourceLanguageCode")
                || !body.hasNonNull("preferredSpeedType")) {
            throw new ApiError(400, "F4003", "Missing required parameter: mediaSeq, isVideoProject, sourceLanguageCode and preferredSpeedType are required");
        }
        Media m = s.media.get(body.get("mediaSeq").asLong());
        if (m == null) {
            throw new ApiError(404, "VT4042", "Video not found");
        }
        String source = body.get("sourceLanguageCode").asText();
        if (source.isEmpty() || !source.equals("auto") && !LANGUAGES.contains(source)) {
            throw new ApiError(404, "VT4043", "Source language not found: " + source);
        }
        String speed = body.get("preferredSpeedType").asText();
        if (!speed.equals("GREEN") && !speed.equals("RED")) {
            throw new ApiError(400, "F4003", "preferredSpeedType must be GREEN or RED");
        }
        List<String[]> targets = new ArrayList<>();
        if (body.has("targetLanguages") && body.get("targetLanguages").isArray()) {
            for (JsonNode t : body.get("targetLanguages")) {
                targets.add(new String[]{t.path("languageCode").asText(""), t.path("ttsModel").asText("ELEVEN_V2")});
            }
        } else if (body.has("targetLanguageCodes") && body.get("targetLanguageCodes").isArray()) {
            for (JsonNode t : body.get("targetLanguageCodes")) {
                targets.add(new String[]{t.asText(), body.path("ttsModel").asText("ELEVEN_V2")});
            }
        }
        if (targets.isEmpty()) {
            throw new ApiError(400, "F4003", "Either targetLanguageCodes or targetLanguages must be provided");
        }
        for (String[] t : targets) {
            if (!LANGUAGES.contains(t[0])) {
                throw new ApiError(404, "VT4044", "Target language not found: " + t[0]);
            }
            if (!TTS_MODELS.contains(t[1])) {
                throw new ApiError(400, "VT4009", "Target language and TTS model pair is not supported: " + t[0] + "/" + t[1]);
            }
        }
        if (!s.queues.contains(space)) {
            throw new ApiError(404, null, "space queue not found");
        }
        long need = quotaFor(m.durationMs, targets.size());
        if (s.credits < need) {
            throw new ApiError(402, "VT4021", "Insufficient credits: need " + need + ", have " + s.credits);
        }
        s.credits -= need;
        long now = System.currentTimeMillis();
        boolean lipSync = body.path("withLipSync").asBoolean(false);
        String title = body.hasNonNull("title") && !body.get("title").asText().isBlank() ? body.get("title").asText() : m.fileName;
        List<Long> ids = new ArrayList<>();
        for (String[] t : targets) {
            Project p = new Project();
            p.seq = ++s.lastProjectSeq;
            p.spaceSeq = space;
            p.mediaSeq = m.seq;
            p.title = title;
            p.sourceLanguage = source.equals("auto") ? "en" : source;
            p.targetLanguage = t[0];
            p.ttsModel = t[1];
            p.lipSync = lipSync;
            p.createdAt = now;
            p.stageMillis = stageMillis(s);
            p.failMessage = s.failLanguages.get(t[0]);
            s.projects.put(p.seq, p);
            ids.add(p.seq);
        }
        return new Answer(201, Map.of("result", Map.of("startGenerateProjectIdList", ids)));
    }

    private Answer listProjects(State s, RoutingContext ctx, JsonNode body) {
        long space = checkSpace(ctx);
        String role = required(ctx, "memberRole");
        int size = Integer.parseInt(required(ctx, "size"));
        int offset = Integer.parseInt(required(ctx, "offset"));
        String direction = required(ctx, "sortDirection");
        if (!List.of("enterprise_owner", "space_owner", "space_manager", "space_member", "individual", "developer").contains(role)) {
            throw new ApiError(400, "F4003", "memberRole is not valid: " + role);
        }
        List<Project> all = s.projects.values().stream().filter(p -> p.spaceSeq == space).toList();
        List<Project> sorted = new ArrayList<>(all);
        if (direction.equalsIgnoreCase("desc")) {
            java.util.Collections.reverse(sorted);
        }
        long now = System.currentTimeMillis();
        List<Map<String, Object>> content = new ArrayList<>();
        for (int i = offset; i < Math.min(sorted.size(), offset + size); i++) {
            Project p = sorted.get(i);
            Map<String, Object> v = projectView(s, p, now);
            v.put("status", "created");
            content.add(v);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("totalCount", sorted.size());
        r.put("hasNext", offset + size < sorted.size());
        r.put("pageSize", size);
        r.put("nextVtOffset", offset + size);
        r.put("content", content);
        return ok(Map.of("result", r));
    }

    private Project project(State s, RoutingContext ctx) {
        long space = checkSpace(ctx);
        Project p;
        try {
            p = s.projects.get(Long.parseLong(ctx.pathParam("projectSeq")));
        } catch (NumberFormatException e) {
            p = null;
        }
        if (p == null || p.spaceSeq != space) {
            throw new ApiError(404, "VT4041", "Project not found");
        }
        return p;
    }

    private Answer getProject(State s, RoutingContext ctx, JsonNode body) {
        Project p = project(s, ctx);
        Map<String, Object> v = projectView(s, p, System.currentTimeMillis());
        v.put("progressReason", reason(p, System.currentTimeMillis()));
        return ok(Map.of("result", v));
    }

    private Map<String, Object> projectView(State s, Project p, long now) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("seq", p.seq);
        v.put("title", p.title);
        v.put("projectType", "VIDEO");
        v.put("durationMs", s.media.get(p.mediaSeq).durationMs);
        v.put("sourceLanguage", Map.of("code", p.sourceLanguage, "name", p.sourceLanguage));
        v.put("targetLanguage", Map.of("code", p.targetLanguage, "name", p.targetLanguage));
        v.put("progress", progressPercent(p, now));
        v.put("hasFailed", p.failMessage != null && stageIndex(p, now) >= stages(p).size());
        v.put("isLipSync", p.lipSync);
        v.put("projectGenerationType", "DUBBING");
        v.put("createDate", Instant.ofEpochMilli(p.createdAt).toString());
        return v;
    }

    private Answer progress(State s, RoutingContext ctx, JsonNode body) {
        Project p = project(s, ctx);
        long now = System.currentTimeMillis();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("projectSeq", p.seq);
        r.put("progress", progressPercent(p, now));
        r.put("progressReason", reason(p, now));
        r.put("hasFailed", p.failMessage != null && stageIndex(p, now) >= stages(p).size());
        r.put("speedType", "green");
        r.put("expectedRemainingTimeMinutes", Math.max(0, (stages(p).size() - stageIndex(p, now)) * p.stageMillis / 60000));
        r.put("isCancelable", stageIndex(p, now) == 0);
        return ok(Map.of("result", r));
    }

    private Answer downloadInfo(State s, RoutingContext ctx, JsonNode body) {
        Project p = project(s, ctx);
        boolean done = p.finished && p.failMessage == null;
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("hasPreviousProjectVideo", done);
        v.put("hasTranslatedVideo", done);
        v.put("hasLipSyncVideo", done && p.lipSync);
        v.put("hasOriginalSubtitle", done);
        v.put("hasTranslatedSubtitle", done);
        v.put("hasOriginalVoiceOnly", done);
        v.put("hasTranslatedVoice", done);
        v.put("hasOriginalBackground", done);
        v.put("hasTranslatedBackground", done);
        v.put("hasTranslateAudio", null);
        v.put("hasTranslatedVoiceWithBackground", null);
        v.put("hasZipDownload", false);
        v.put("hasOriginalSpeakerAudioCollection", false);
        v.put("hasSpeakerSegmentExcel", false);
        v.put("hasSpeakerSegmentWithTranslationExcel", false);
        return ok(v);
    }

    private Answer download(State s, RoutingContext ctx, JsonNode body) {
        Project p = project(s, ctx);
        String target = required(ctx, "target");
        if (!p.finished || p.failMessage != null) {
            throw new ApiError(404, "VT4041", "Project has no files to download yet");
        }
        Map<String, Object> video = new LinkedHashMap<>();
        Map<String, Object> audio = new LinkedHashMap<>();
        Map<String, Object> srt = new LinkedHashMap<>();
        switch (target) {
            case "video", "dubbingVideo" -> video.put("videoDownloadLink", storage.presignGet(p.outputs.get("dubbingVideo"), Duration.ofHours(1)).toString());
            case "lipSyncVideo" -> {
                if (p.lipSync) {
                    video.put("videoDownloadLink", mediaLink(s, p.outputs.get("dubbingVideo")));
                }
            }
            case "voiceAudio" -> audio.put("voiceAudioDownloadLink", mediaLink(s, p.outputs.get("voiceAudio")));
            case "originalVoiceAudio" -> audio.put("voiceAudioDownloadLink", mediaLink(s, p.outputs.get("originalVoiceAudio")));
            case "backgroundAudio" -> audio.put("backgroundAudioDownloadLink", mediaLink(s, p.outputs.get("backgroundAudio")));
            case "originalSubtitle" -> srt.put("originalSubtitleDownloadLink", mediaLink(s, p.outputs.get("originalSubtitle")));
            case "translatedSubtitle" -> srt.put("translatedSubtitleDownloadLink", mediaLink(s, p.outputs.get("translatedSubtitle")));
            default -> throw new ApiError(400, "F4003", "target not available in the sandbox: " + target);
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("videoFile", video);
        r.put("audioFile", audio);
        r.put("srtFile", srt);
        r.put("zippedFileDownloadLink", null);
        return ok(Map.of("result", r));
    }

    private Answer languages() {
        List<Map<String, Object>> list = new ArrayList<>();
        for (String code : LANGUAGES) {
            list.add(Map.of("code", code, "name", Locale.forLanguageTag(code).getDisplayLanguage(Locale.ENGLISH), "experiment", false));
        }
        return ok(Map.of("result", Map.of("languages", list)));
    }

    // ================================================================ lifecycle

    private static List<String> stages(Project p) {
        List<String> st = new ArrayList<>(STAGES);
        if (p.lipSync) {
            st.addAll(LIP_SYNC_STAGES);
        }
        return st;
    }

    private static int stageIndex(Project p, long now) {
        return p.stageMillis <= 0 ? Integer.MAX_VALUE : (int) Math.min(Integer.MAX_VALUE, (now - p.createdAt) / p.stageMillis);
    }

    private static String reason(Project p, long now) {
        List<String> st = stages(p);
        int i = stageIndex(p, now);
        if (i >= st.size()) {
            return p.failMessage != null ? "Failed" : "Completed";
        }
        return st.get(i);
    }

    private static int progressPercent(Project p, long now) {
        List<String> st = stages(p);
        int i = stageIndex(p, now);
        if (i >= st.size()) {
            return p.failMessage != null ? (st.size() - 1) * 100 / st.size() : 100;
        }
        return i * 100 / st.size();
    }

    /** Produces the outputs of every project whose last stage is over. */
    private void settle(State s) {
        long now = System.currentTimeMillis();
        for (Project p : s.projects.values()) {
            if (p.finished || stageIndex(p, now) < stages(p).size()) {
                continue;
            }
            p.finished = true;
            if (p.failMessage != null) {
                s.credits += quotaFor(s.media.get(p.mediaSeq).durationMs, 1); // refunded
                continue;
            }
            Media m = s.media.get(p.mediaSeq);
            String prefix = "perso/" + p.seq + "/";
            String stem = DublabSimulator.safeName(m.fileName);
            int dot = stem.lastIndexOf('.');
            stem = (dot > 0 ? stem.substring(0, dot) : stem).replace(' ', '_');
            p.outputs.put("dubbingVideo", prefix + stem + "_" + p.targetLanguage + ".mp4");
            p.outputs.put("translatedSubtitle", prefix + stem + "_" + p.targetLanguage + ".srt");
            p.outputs.put("originalSubtitle", prefix + stem + "_original.srt");
            p.outputs.put("voiceAudio", prefix + stem + "_" + p.targetLanguage + "_voice.mp3");
            p.outputs.put("originalVoiceAudio", prefix + stem + "_original_voice.mp3");
            p.outputs.put("backgroundAudio", prefix + stem + "_background.mp3");
            storage.putFile(p.outputs.get("dubbingVideo"), storage.pathOf(m.blobKey));
            storage.putBytes(p.outputs.get("translatedSubtitle"), srt(p.targetLanguage, p.title, m.durationMs));
            storage.putBytes(p.outputs.get("originalSubtitle"), srt(p.sourceLanguage, p.title, m.durationMs));
            storage.putBytes(p.outputs.get("voiceAudio"), DublabSimulator.mp3(p.targetLanguage.hashCode()));
            storage.putBytes(p.outputs.get("originalVoiceAudio"), DublabSimulator.mp3(p.sourceLanguage.hashCode() ^ 0x5a5a));
            storage.putBytes(p.outputs.get("backgroundAudio"), DublabSimulator.mp3(0x0b0b));
        }
    }

    private static byte[] srt(String lang, String title, long durationMs) {
        StringBuilder srt = new StringBuilder();
        int cues = (int) Math.max(1, Math.min(3, durationMs / 4000));
        for (int i = 0; i < cues; i++) {
            srt.append(i + 1).append('\n').append(tc(i * 4000L)).append(" --> ").append(tc(i * 4000L + 3500)).append('\n')
                    .append('[').append(lang).append("] Perso sandbox line ").append(i + 1).append(" of ").append(title).append("\n\n");
        }
        return srt.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String tc(long ms) {
        return String.format(Locale.ROOT, "%02d:%02d:%02d,%03d", ms / 3_600_000, (ms / 60_000) % 60, (ms / 1000) % 60, ms % 1000);
    }

    /** A relative /perso-storage/... link (resolved by clients against the media base URL), signed like a presigned GET. */
    private String mediaLink(State s, String key) {
        String se = Instant.now().plus(Duration.ofHours(1)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        return "/perso-storage/" + SandboxStorage.encodeKey(key) + "?se=" + enc(se) + "&sp=r&sig=" + enc(sign(s, "r", key, se));
    }

    private void mediaGet(RoutingContext ctx) {
        String raw = ctx.request().path().substring((MEDIA_PATH + "/perso-storage/").length());
        String key = SandboxStorage.decodeKey(raw);
        String se = ctx.queryParams().get("se");
        String sig = ctx.queryParams().get("sig");
        boolean valid;
        synchronized (this) {
            valid = key != null && se != null && sig != null && MessageDigest.isEqual(sign(state(), "r", key, se).getBytes(StandardCharsets.UTF_8),
                    sig.getBytes(StandardCharsets.UTF_8));
        }
        if (!valid || expired(se)) {
            blobError(ctx, 403, "AuthenticationFailed", "Server failed to authenticate the request (signature or expiry)");
            return;
        }
        Path file;
        try {
            file = storage.pathOf(key);
        } catch (IllegalArgumentException e) {
            blobError(ctx, 400, "InvalidUri", "bad path");
            return;
        }
        if (!Files.isRegularFile(file)) {
            blobError(ctx, 404, "BlobNotFound", "The specified blob does not exist.");
            return;
        }
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, SandboxStorage.contentTypeOf(key)).sendFile(file.toString());
    }

    // ================================================================ blob endpoint (Azure-like)

    private static final Pattern BLOCK_ID = Pattern.compile("<(Latest|Committed|Uncommitted)>([^<]+)</\\1>");

    private void blobPut(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        req.pause();
        String blobPath = SandboxStorage.decodeKey(req.path().substring(BLOB_PATH.length()));
        String comp = ctx.queryParams().get("comp");
        String operation = "blocklist".equals(comp) ? "put-block-list" : "block".equals(comp) ? "put-block" : "put-blob";
        String se = ctx.queryParams().get("se");
        String sig = ctx.queryParams().get("sig");
        boolean signed;
        synchronized (this) {
            State s = state();
            s.calls.merge(operation, 1, Integer::sum);
            signed = blobPath != null && se != null && sig != null && "rw".equals(ctx.queryParams().get("sp"))
                    && "b".equals(ctx.queryParams().get("sr"))
                    && MessageDigest.isEqual(sign(s, "rw", blobPath, se).getBytes(StandardCharsets.UTF_8), sig.getBytes(StandardCharsets.UTF_8));
        }
        if (!signed) {
            reject(ctx, operation, 403, "AuthenticationFailed",
                    "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.");
            return;
        }
        if (expired(se)) {
            reject(ctx, operation, 403, "AuthenticationFailed", "Server failed to authenticate the request. Signed expiry time [" + se
                    + "] must be after signed start time and current time");
            return;
        }
        if (req.getHeader("XP-API-KEY") != null) {
            reject(ctx, operation, 400, "UnsupportedHeader", "XP-API-KEY must not be sent to the blob storage: the SAS is the only credential");
            return;
        }
        String cl = req.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (cl == null) {
            reject(ctx, operation, 411, "MissingContentLengthHeader", "Content-Length HTTP header is missing");
            return;
        }
        long expected = Long.parseLong(cl.trim());
        Path target;
        String blockId = ctx.queryParams().get("blockid");
        if ("block".equals(comp)) {
            if (blockId == null || blockId.isBlank()) {
                reject(ctx, operation, 400, "InvalidQueryParameterValue", "blockid is required");
                return;
            }
            target = blocksDir(blobPath).resolve(HexFormat.of().formatHex(Base64.getDecoder().decode(blockId)));
        } else if ("blocklist".equals(comp)) {
            req.body().onComplete(ar -> {
                if (ar.failed()) {
                    reject(ctx, operation, 400, "InvalidXmlDocument", "cannot read the block list");
                    return;
                }
                ctx.vertx().executeBlocking(() -> commitBlocks(blobPath, ar.result().toString(StandardCharsets.UTF_8)), false)
                        .onComplete(done -> {
                            if (done.failed()) {
                                reject(ctx, operation, 400, "InvalidBlockList", done.cause().getMessage());
                            } else {
                                logBlob(operation, req.path(), 201);
                                ctx.response().setStatusCode(201).putHeader(HttpHeaders.CONTENT_LENGTH, "0").end();
                            }
                        });
            });
            req.resume();
            return;
        } else {
            String type = req.getHeader("x-ms-blob-type");
            if (type == null) {
                reject(ctx, operation, 400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified. x-ms-blob-type");
                return;
            }
            if (!type.equals("BlockBlob")) {
                reject(ctx, operation, 400, "InvalidHeaderValue", "x-ms-blob-type must be BlockBlob here, not " + type);
                return;
            }
            target = storage.pathOf(blobKey(blobPath));
        }
        Path tmp = storage.tempDir().resolve(UUID.randomUUID() + ".part");
        try {
            Files.createDirectories(tmp.getParent());
            Files.createDirectories(target.getParent());
        } catch (IOException e) {
            reject(ctx, operation, 500, "InternalError", e.getMessage());
            return;
        }
        ctx.vertx().fileSystem().open(tmp.toString(), new OpenOptions().setWrite(true).setCreate(true).setTruncateExisting(true))
                .onFailure(err -> reject(ctx, operation, 500, "InternalError", err.getMessage()))
                .onSuccess(file -> {
                    // Azure answers 100 once the request passed its checks, as S3 does
                    if (SandboxStorage.expectsContinue(req)) {
                        req.response().writeContinue();
                    }
                    pipeBlob(ctx, operation, req, file, tmp, target, expected);
                });
    }

    private void pipeBlob(RoutingContext ctx, String operation, HttpServerRequest req, AsyncFile file, Path tmp, Path target,
                          long expected) {
        req.pipeTo(file).onComplete(piped -> {
            long got;
            try {
                got = Files.size(tmp);
            } catch (IOException e) {
                got = -1;
            }
            if (piped.failed() || got != expected) {
                quietlyDelete(tmp);
                reject(ctx, operation, 400, "InvalidInput", "body length " + got + " does not match Content-Length " + expected);
                return;
            }
            try {
                move(tmp, target);
            } catch (IOException e) {
                reject(ctx, operation, 500, "InternalError", e.getMessage());
                return;
            }
            logBlob(operation, req.path(), 201);
            ctx.response().setStatusCode(201).putHeader(HttpHeaders.CONTENT_LENGTH, "0").end();
        });
    }

    private Void commitBlocks(String blobPath, String xml) throws IOException {
        Matcher m = BLOCK_ID.matcher(xml);
        List<Path> parts = new ArrayList<>();
        while (m.find()) {
            Path part = blocksDir(blobPath).resolve(HexFormat.of().formatHex(Base64.getDecoder().decode(m.group(2).trim())));
            if (!Files.isRegularFile(part)) {
                throw new IOException("The specified block list is invalid: block " + m.group(2) + " was never uploaded");
            }
            parts.add(part);
        }
        if (parts.isEmpty()) {
            throw new IOException("The block list names no block");
        }
        Path target = storage.pathOf(blobKey(blobPath));
        Files.createDirectories(target.getParent());
        Path tmp = storage.tempDir().resolve(UUID.randomUUID() + ".part");
        Files.createDirectories(tmp.getParent());
        try (OutputStream out = Files.newOutputStream(tmp)) {
            for (Path part : parts) {
                Files.copy(part, out);
            }
        }
        move(tmp, target);
        try (var files = Files.list(blocksDir(blobPath))) {
            files.forEach(PersoSimulator::quietlyDelete);
        }
        return null;
    }

    private void reject(RoutingContext ctx, String operation, int status, String code, String message) {
        logBlob(operation, ctx.request().path(), status);
        blobError(ctx, status, code, message);
        HttpServerRequest req = ctx.request();
        req.handler(buf -> { });
        req.exceptionHandler(err -> { });
        req.resume();
    }

    private synchronized void logBlob(String operation, String path, int status) {
        log(state(), "PUT", path, operation, status);
        save();
    }

    private static void blobError(RoutingContext ctx, int status, String code, String message) {
        if (ctx.response().ended()) {
            return;
        }
        String body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + code + "</Code><Message>"
                + message.replace("&", "&amp;").replace("<", "&lt;") + "\nRequestId:" + UUID.randomUUID() + "</Message></Error>";
        ctx.response().setStatusCode(status).putHeader("x-ms-error-code", code).putHeader(HttpHeaders.CONTENT_TYPE, "application/xml").end(body);
    }

    private static boolean expired(String se) {
        try {
            return Instant.now().isAfter(Instant.parse(se));
        } catch (DateTimeParseException e) {
            return true;
        }
    }

    static String blobKey(String blobPath) {
        return "perso-blob/" + blobPath;
    }

    private Path blocksDir(String blobPath) {
        return storage.sandboxDir().resolve("perso-blocks").resolve(HexFormat.of().formatHex(blobPath.getBytes(StandardCharsets.UTF_8)).substring(0,
                Math.min(120, blobPath.length() * 2)) + "-" + Integer.toHexString(blobPath.hashCode()));
    }

    private static String sign(State s, String permissions, String path, String expiry) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(HexFormat.of().parseHex(s.secret), "HmacSHA256"));
            return Base64.getEncoder().encodeToString(mac.doFinal((permissions + "\n" + path + "\n" + expiry).getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    // ================================================================ state

    private State state() {
        if (state == null) {
            state = load();
        }
        if (state.secret == null) {
            byte[] b = new byte[32];
            new SecureRandom().nextBytes(b);
            state.secret = HexFormat.of().formatHex(b);
        }
        return state;
    }

    private Path stateFile() {
        return Path.of(config.dataDir()).toAbsolutePath().normalize().resolve(".sandbox").resolve("perso-sim.json");
    }

    private State load() {
        Path file = stateFile();
        if (Files.isRegularFile(file)) {
            try {
                return json.readValue(file.toFile(), State.class);
            } catch (IOException e) {
                LOG.warnf("Sandbox Perso state %s is unreadable (%s); starting empty", file, e.getMessage());
            }
        }
        return new State();
    }

    private void save() {
        Path file = stateFile();
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling("perso-sim.json." + UUID.randomUUID() + ".tmp");
            json.writeValue(tmp.toFile(), state());
            move(tmp, file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the sandbox Perso state to " + file, e);
        }
    }

    private static void move(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void quietlyDelete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort
        }
    }

    private long stageMillis(State s) {
        return s.stageMillis >= 0 ? s.stageMillis : config.sandbox().stageDuration().toMillis();
    }

    private String base() {
        String base = config.publicBaseUrl();
        return base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    // Persisted form.

    /** One request as the simulator saw it: arrival time (epoch ms), method, path, operation, answered status. */
    public record Request(long at, String method, String path, String operation, int status) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public static class State {
        public String secret;
        public long credits = DEFAULT_CREDITS;
        public long stageMillis = -1;
        public long sasTtlSeconds = DEFAULT_SAS_TTL_SECONDS;
        public long lastMediaSeq = 400;
        public long lastProjectSeq = 100;
        public TreeSet<Long> queues = new TreeSet<>();
        public Map<String, Integer> calls = new TreeMap<>();
        public List<Request> requests = new ArrayList<>();
        public Map<Long, Media> media = new LinkedHashMap<>();
        public Map<Long, Project> projects = new LinkedHashMap<>();
        public Map<String, FailNext> failNext = new TreeMap<>();
        public Map<String, Integer> loseNext = new TreeMap<>();
        public Map<String, String> failLanguages = new TreeMap<>();
    }

    public static class Media {
        public long seq;
        public String blobKey;
        public String fileName;
        public long durationMs;
        public long size;
    }

    public static class Project {
        public long seq;
        public long spaceSeq;
        public long mediaSeq;
        public String title;
        public String sourceLanguage;
        public String targetLanguage;
        public String ttsModel;
        public boolean lipSync;
        public long createdAt;
        public long stageMillis;
        public String failMessage;
        public boolean finished;
        public Map<String, String> outputs = new LinkedHashMap<>();
    }

    public static class FailNext {
        public int status;
        public String code;
        public String message;
        public int times;
    }
}
