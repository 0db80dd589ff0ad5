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
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Function;

/**
 * A stateful stand-in for SpeechLab (providers/speechlab-api-v1.md) at {@value #API_PATH}: login
 * and refresh with expiring JWTs (400 without an Authorization header, 401 on a bad or expired
 * one), check-upload-billing with 402, the S3 multipart upload with part URLs presigned for NO
 * Content-Type by {@link SandboxStorage} (ETag = MD5; finalize checks the ETags and joins the
 * parts), createProjectAndTranscribe / translations / dubs moving SUBMITTED → PROCESSING →
 * COMPLETE with time, and GET /projects?thirdPartyIDs=…&expand=true with presigned media links.
 * Time moves lazily from timestamps; state is persisted like {@link DublabSimulator}'s.
 */
@ApplicationScoped
@Named("speechlabSimulator")
public class SpeechLabSimulator {

    private static final Logger LOG = Logger.getLogger(SpeechLabSimulator.class);

    public static final String API_PATH = "/sandbox/speechlab/v1";
    public static final String CONTROL_PATH = "/sandbox/speechlab/_control";
    public static final String EMAIL = "sandbox@speechlab.local";
    public static final String PASSWORD = "sandbox-speechlab-password";

    public static final List<String> OPERATIONS = List.of("login", "refresh-tokens", "check-upload-billing",
            "initialize-multipart-upload", "get-multipart-preSigned-urls", "finalize-multipart-upload",
            "createProjectAndTranscribe", "createProjectAndDub", "translations", "dubs", "projects", "project");

    public static final long DEFAULT_CREDITS = 10_000;
    public static final long DEFAULT_TOKEN_TTL_SECONDS = 3600;
    static final Duration PART_URL_TTL = Duration.ofHours(1);
    static final Duration MEDIA_URL_TTL = Duration.ofHours(1);
    static final long MIN_PART_BYTES = 5L * 1024 * 1024;

    @Inject
    HubConfig config;

    @Inject
    SandboxStorage storage;

    @Inject
    io.dubhub.media.MediaProbe probe;

    /** The "dub worker" that fetches mediaFileURI of createProjectAndDub, off the request (as SpeechLab does). */
    private final java.util.concurrent.ExecutorService fetcher = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "sandbox-speechlab-fetch");
        t.setDaemon(true);
        return t;
    });

    private final ObjectMapper json = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    private final SecureRandom random = new SecureRandom();
    private State state;

    // ================================================================ test controls (Java)

    public synchronized void reset() {
        state = new State();
        save();
    }

    public synchronized void reload() {
        state = null;
        state();
    }

    public synchronized void setCredits(long credits) {
        state().credits = credits;
        save();
    }

    public synchronized long credits() {
        return state().credits;
    }

    /** Lifetime of access tokens issued from now on (whole seconds, at least 1). */
    public synchronized void setTokenTtl(Duration ttl) {
        state().tokenTtlSeconds = Math.max(1, ttl.toSeconds());
        save();
    }

    public synchronized void setStageDuration(Duration stage) {
        state().stageMillis = Math.max(0, stage.toMillis());
        save();
    }

    public synchronized void failLanguage(String code, String message) {
        state().failLanguages.put(code, message == null || message.isBlank() ? "Simulated failure" : message);
        save();
    }

    public synchronized void failNextCalls(String operation, int status, int times) {
        checkOperation(operation);
        if (times <= 0) {
            state().failNext.remove(operation);
        } else {
            state().failNext.put(operation, new FailNext(status, times));
        }
        save();
    }

    /** The next call of {@code operation} does its work but answers 502, as if the answer were lost. */
    public synchronized void loseNextAnswer(String operation) {
        checkOperation(operation);
        state().loseNext.merge(operation, 1, Integer::sum);
        save();
    }

    /**
     * The first PUT of part {@code partNumber} of the next upload whose part URLs are handed out is
     * refused with {@code status} (through {@link SandboxStorage#failNextPut}); its retry works.
     */
    public synchronized void failNextPartPut(int partNumber, int status) {
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("status must be an HTTP error status: " + status);
        }
        state().failPart = partNumber;
        state().failPartStatus = status;
        save();
    }

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

    public synchronized int projectCount() {
        return state().projects.size();
    }

    /** Dubs created on all projects for one SpeechLab language code. */
    public synchronized int dubCount(String code) {
        int n = 0;
        for (Project p : state().projects.values()) {
            for (Translation t : p.translations) {
                n += (int) t.dubs.stream().filter(d -> d.language.equals(code)).count();
            }
        }
        return n;
    }

    /** HTTP PUT attempts (refused ones included) per part number of the upload named {@code name}. */
    public synchronized Map<Integer, Integer> partPutAttempts(String name) {
        Map<Integer, Integer> out = new TreeMap<>();
        for (Upload u : state().uploads.values()) {
            if (u.name.equals(name)) {
                for (int n = 1; n <= u.parts; n++) {
                    out.put(n, storage.putAttempts(partKey(u, n)));
                }
            }
        }
        return out;
    }

    // ================================================================ HTTP

    private static final String PARTS_PREFIX = "speechlab/parts/";

    void register(@Observes Router router) {
        if (!config.sandbox().enabled()) {
            return;
        }
        router.route(API_PATH + "/*").handler(BodyHandler.create(false).setBodyLimit(1024 * 1024));
        api(router, HttpMethod.POST, "/auth/login", "login", false, this::login);
        api(router, HttpMethod.POST, "/auth/refresh-tokens", "refresh-tokens", false, this::refreshTokens);
        router.route(API_PATH + "/*").handler(this::authenticate);
        api(router, HttpMethod.POST, "/dubs/check-upload-billing", "check-upload-billing", true, this::checkUploadBilling);
        api(router, HttpMethod.POST, "/uploads/initialize-multipart-upload", "initialize-multipart-upload", true, this::initialize);
        api(router, HttpMethod.POST, "/uploads/get-multipart-preSigned-urls", "get-multipart-preSigned-urls", true, this::partUrls);
        api(router, HttpMethod.POST, "/uploads/finalize-multipart-upload", "finalize-multipart-upload", true, this::finalizeUpload);
        api(router, HttpMethod.POST, "/projects/createProjectAndTranscribe", "createProjectAndTranscribe", true, this::createProject);
        api(router, HttpMethod.POST, "/projects/createProjectAndDub", "createProjectAndDub", true, this::createProjectAndDub);
        api(router, HttpMethod.POST, "/translations", "translations", true, this::createTranslation);
        api(router, HttpMethod.POST, "/dubs", "dubs", true, this::createDub);
        api(router, HttpMethod.GET, "/projects", "projects", true, this::listProjects);
        api(router, HttpMethod.GET, "/projects/:projectId", "project", true, this::getProject);
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
        control(router, HttpMethod.POST, "/token-ttl", ctx -> {
            setTokenTtl(Duration.ofSeconds(Long.parseLong(required(ctx, "seconds"))));
            return ok(Map.of("seconds", state().tokenTtlSeconds));
        });
        control(router, HttpMethod.POST, "/stage-duration", ctx -> {
            setStageDuration(Duration.ofMillis(Long.parseLong(required(ctx, "millis"))));
            return ok(Map.of("millis", Long.parseLong(required(ctx, "millis"))));
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
        control(router, HttpMethod.POST, "/fail-next-part-put", ctx -> {
            failNextPartPut(Integer.parseInt(required(ctx, "part")), Integer.parseInt(required(ctx, "status")));
            return ok(Map.of("part", required(ctx, "part")));
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
        LOG.infof("Sandbox SpeechLab simulator serving %s (login %s)", config.publicBaseUrl() + API_PATH, EMAIL);
    }

    @FunctionalInterface
    private interface Work {
        Answer apply(State state, RoutingContext ctx, JsonNode body);
    }


    private static final class ApiError extends RuntimeException {
        final int status;

        ApiError(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    /** As the guide says: no Authorization header → 400 (not 401); an unknown or expired JWT → 401. */
    private void authenticate(RoutingContext ctx) {
        String header = ctx.request().getHeader("Authorization");
        if (header == null || header.isBlank()) {
            reply(ctx, error(400, "\"authorization\" header is required"));
            return;
        }
        String token = header.startsWith("Bearer ") ? header.substring(7).trim() : "";
        Long exp;
        synchronized (this) {
            exp = state().accessTokens.get(token);
        }
        if (exp == null || System.currentTimeMillis() / 1000 >= exp) {
            synchronized (this) {
                state().calls.merge("rejected-token", 1, Integer::sum);
            }
            reply(ctx, error(401, "Please authenticate"));
            return;
        }
        ctx.next();
    }

    private void api(Router router, HttpMethod method, String path, String operation, boolean authed, Work work) {
        router.route(method, API_PATH + path).blockingHandler(ctx -> reply(ctx, serve(ctx, operation, work)), false);
    }

    private synchronized Answer serve(RoutingContext ctx, String operation, Work work) {
        State s = state();
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
                LOG.errorf(e, "Sandbox SpeechLab failed on %s", operation);
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
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("code", status);
        b.put("message", message);
        return new Answer(status, b);
    }

    // ================================================================ auth

    private Answer login(State s, RoutingContext ctx, JsonNode body) {
        if (!EMAIL.equals(str(body, "email")) || !PASSWORD.equals(str(body, "password"))) {
            throw new ApiError(401, "Incorrect email or password");
        }
        return ok(issue(s));
    }

    private Answer refreshTokens(State s, RoutingContext ctx, JsonNode body) {
        String refresh = str(body, "refreshToken");
        if (refresh == null) {
            throw new ApiError(400, "\"refreshToken\" is required");
        }
        if (!s.refreshTokens.remove(refresh)) {
            throw new ApiError(401, "Please authenticate");
        }
        return ok(issue(s));
    }

    private Map<String, Object> issue(State s) {
        long now = System.currentTimeMillis() / 1000;
        long exp = now + s.tokenTtlSeconds;
        s.accessTokens.entrySet().removeIf(e -> e.getValue() < now - 3600);
        String jwt = jwt(now, exp);
        s.accessTokens.put(jwt, exp);
        String refresh = randomId(32);
        s.refreshTokens.add(refresh);
        Map<String, Object> access = new LinkedHashMap<>();
        access.put("jwtToken", jwt);
        access.put("payload", Map.of("exp", exp, "iat", now));
        Map<String, Object> tokens = new LinkedHashMap<>();
        tokens.put("accessToken", access);
        tokens.put("refreshToken", Map.of("token", refresh));
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("user", Map.of("id", "sandbox-user", "email", EMAIL));
        answer.put("tokens", tokens);
        return answer;
    }

    private String jwt(long iat, long exp) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        String header = b64.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        String payload = b64.encodeToString(("{\"sub\":\"sandbox-user\",\"iat\":" + iat + ",\"exp\":" + exp + ",\"jti\":\""
                + randomId(12) + "\"}").getBytes(StandardCharsets.UTF_8));
        return header + "." + payload + "." + randomId(43);
    }

    // ================================================================ billing and upload

    private Answer checkUploadBilling(State s, RoutingContext ctx, JsonNode body) {
        JsonNode uploads = body.get("uploads");
        if (uploads == null || !uploads.isArray() || uploads.isEmpty()) {
            throw new ApiError(400, "\"uploads\" must be a non-empty array");
        }
        long required = 0;
        List<Map<String, Object>> out = new ArrayList<>();
        for (JsonNode u : uploads) {
            double duration = u.path("duration").asDouble(-1);
            if (!(duration > 0)) {
                throw new ApiError(400, "\"duration\" must be a positive number of seconds");
            }
            long credits = minutes(duration);
            required += credits;
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("requiredCredits", credits);
            e.put("duration", duration);
            e.put("filename", str(u, "filename"));
            e.put("isOver30Minutes", duration > 1800);
            out.add(e);
        }
        if (s.credits < required) {
            Map<String, Object> b = new LinkedHashMap<>();
            b.put("code", 402);
            b.put("message", "Insufficient credits");
            b.put("requiredCredits", required);
            b.put("availableCredits", s.credits);
            return new Answer(402, b);
        }
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("success", true);
        b.put("uploads", out);
        return ok(b);
    }

    private Answer initialize(State s, RoutingContext ctx, JsonNode body) {
        String name = str(body, "name");
        if (name == null || name.isBlank()) {
            throw new ApiError(400, "\"name\" is required");
        }
        Upload u = new Upload();
        u.fileUuid = UUID.randomUUID().toString();
        u.fileId = randomId(24);
        u.name = name;
        u.fileKey = "speechlab/uploads/" + u.fileUuid + "/" + DublabSimulator.safeName(name);
        s.uploads.put(u.fileId, u);
        return ok(Map.of("fileUuid", u.fileUuid, "fileKey", u.fileKey, "fileId", u.fileId));
    }

    private Upload upload(State s, JsonNode body) {
        Upload u = s.uploads.get(String.valueOf(str(body, "fileId")));
        if (u == null || !u.fileKey.equals(str(body, "fileKey"))) {
            throw new ApiError(404, "NoSuchUpload: the multipart upload does not exist (fileKey/fileId)");
        }
        return u;
    }

    private Answer partUrls(State s, RoutingContext ctx, JsonNode body) {
        Upload u = upload(s, body);
        int parts = body.path("parts").asInt(0);
        if (parts < 1 || parts > 10_000) {
            throw new ApiError(400, "\"parts\" must be between 1 and 10000");
        }
        u.parts = parts;
        if (s.failPart != null && s.failPart <= parts) {
            storage.failNextPut(partKey(u, s.failPart), s.failPartStatus);
            s.failPart = null;
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int n = 1; n <= parts; n++) {
            out.add(Map.of("PartNumber", n, "signedUrl", storage.presignPut(partKey(u, n), null, PART_URL_TTL).toString()));
        }
        return ok(Map.of("parts", out));
    }

    private static String partKey(Upload u, int n) {
        return PARTS_PREFIX + u.fileId + "/" + n;
    }

    /** As S3 CompleteMultipartUpload: every listed part present, ETags match, all but the last ≥ 5 MiB; joins them. */
    private Answer finalizeUpload(State s, RoutingContext ctx, JsonNode body) {
        Upload u = upload(s, body);
        if (u.finalized) {
            return ok(Map.of("success", true, "fileKey", u.fileKey));
        }
        JsonNode parts = body.get("parts");
        if (parts == null || !parts.isArray() || parts.isEmpty()) {
            throw new ApiError(400, "\"parts\" must be a non-empty array of {PartNumber, ETag}");
        }
        Path target = storage.pathOf(u.fileKey);
        try {
            Files.createDirectories(target.getParent());
            Path tmp = target.resolveSibling(target.getFileName() + "." + UUID.randomUUID() + ".joining");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                int expected = 1;
                for (JsonNode p : parts) {
                    int n = p.path("PartNumber").asInt(-1);
                    if (n != expected++) {
                        throw new ApiError(400, "InvalidPartOrder: parts must be listed 1, 2, 3, …");
                    }
                    String key = partKey(u, n);
                    if (!storage.exists(key)) {
                        throw new ApiError(400, "InvalidPart: part " + n + " was never uploaded");
                    }
                    Path part = storage.pathOf(key);
                    String etag = md5(part);
                    String sent = p.path("ETag").asText("").replace("\"", "");
                    if (!etag.equals(sent)) {
                        throw new ApiError(400, "InvalidPart: ETag of part " + n + " does not match (" + sent + ")");
                    }
                    if (n < parts.size() && Files.size(part) < MIN_PART_BYTES) {
                        throw new ApiError(400, "EntityTooSmall: part " + n + " is " + Files.size(part) + " bytes; all but the last must be at least 5 MiB");
                    }
                    try (InputStream in = Files.newInputStream(part)) {
                        in.transferTo(out);
                    }
                }
            } catch (ApiError e) {
                Files.deleteIfExists(tmp);
                throw e;
            }
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        u.finalized = true;
        u.bytes = target.toFile().length();
        return ok(Map.of("success", true, "fileKey", u.fileKey, "location", u.fileKey));
    }

    // ================================================================ projects

    private Answer createProject(State s, RoutingContext ctx, JsonNode body) {
        for (String f : List.of("name", "language", "fileUuid", "fileKey", "filenameToReturn")) {
            if (str(body, f) == null || str(body, f).isBlank()) {
                throw new ApiError(400, "\"" + f + "\" is required");
            }
        }
        if (!body.path("contentDuration").isNumber()) {
            throw new ApiError(400, "\"contentDuration\" must be a number");
        }
        Upload u = s.uploads.values().stream().filter(x -> x.fileKey.equals(str(body, "fileKey"))).findFirst()
                .orElseThrow(() -> new ApiError(404, "No uploaded file with fileKey " + str(body, "fileKey")));
        if (!u.finalized || !u.fileUuid.equals(str(body, "fileUuid"))) {
            throw new ApiError(400, "The upload of " + u.fileKey + " is not finalized");
        }
        long now = System.currentTimeMillis();
        Project p = new Project();
        p.id = objectId();
        p.name = str(body, "name");
        p.thirdPartyID = str(body, "thirdPartyID");
        p.language = str(body, "language");
        p.fileKey = u.fileKey;
        p.filename = str(body, "filenameToReturn");
        p.duration = body.get("contentDuration").asDouble();
        p.contentId = objectId();
        p.transcriptionId = objectId();
        p.createdAt = now;
        s.projects.put(p.id, p);
        return new Answer(201, Map.of("project", view(s, p, false)));
    }

    /**
     * The one-shot URL path. The answer comes at once; the worker then fetches mediaFileURI in the
     * background and the pipeline runs transcription → translation → dub of targetLanguage by
     * itself. As the guide warns, an s3:// URI is accepted here and fails later in the worker
     * ("Error processing job: Unsupported protocol s3:"); so does a URL it cannot fetch. Plain
     * http is fetched only from loopback (the sandbox has no TLS); the real service wants https.
     */
    private Answer createProjectAndDub(State s, RoutingContext ctx, JsonNode body) {
        for (String f : List.of("name", "sourceLanguage", "targetLanguage", "mediaFileURI", "voiceMatchingMode")) {
            if (str(body, f) == null || str(body, f).isBlank()) {
                throw new ApiError(400, "\"" + f + "\" is required");
            }
        }
        if (s.credits <= 0) {
            throw new ApiError(402, "Insufficient credits: have " + s.credits);
        }
        long now = System.currentTimeMillis();
        Project p = new Project();
        p.id = objectId();
        p.name = str(body, "name");
        p.thirdPartyID = str(body, "thirdPartyID");
        p.language = str(body, "sourceLanguage");
        p.pipelineLanguage = str(body, "targetLanguage");
        p.voiceMatchingMode = str(body, "voiceMatchingMode");
        p.mediaFileURI = str(body, "mediaFileURI");
        p.fileKey = "speechlab/url-sources/" + p.id;
        p.filename = fileNameOf(p.mediaFileURI);
        p.contentId = objectId();
        p.transcriptionId = objectId();
        p.createdAt = now;
        p.fetching = true;
        s.projects.put(p.id, p);
        String id = p.id;
        boolean tamper = s.tamperFetches > 0;
        if (tamper) {
            s.tamperFetches--;
        }
        String uri = tamper ? tampered(p.mediaFileURI) : p.mediaFileURI;
        fetcher.submit(() -> fetchSource(id, uri));
        return new Answer(201, Map.of("project", view(s, p, false)));
    }

    private void fetchSource(String projectId, String uri) {
        String error = null;
        Path tmp = null;
        double seconds = 0;
        long bytes = 0;
        try {
            java.net.URI u = java.net.URI.create(uri);
            String scheme = String.valueOf(u.getScheme()).toLowerCase(java.util.Locale.ROOT);
            if (!scheme.equals("https") && !(scheme.equals("http") && io.dubhub.staging.SourceUrls.fetchableByProvider(u))) {
                error = "Error processing job: Unsupported protocol " + scheme + ":";
            } else {
                tmp = Files.createTempFile("speechlab-fetch", ".bin");
                var response = java.net.http.HttpClient.newBuilder().followRedirects(java.net.http.HttpClient.Redirect.NORMAL)
                        .connectTimeout(Duration.ofSeconds(10)).build()
                        .send(java.net.http.HttpRequest.newBuilder(u).GET().build(), java.net.http.HttpResponse.BodyHandlers.ofFile(tmp));
                if (response.statusCode() != 200) {
                    error = "Error processing job: could not fetch mediaFileURI (HTTP " + response.statusCode() + ")";
                } else {
                    bytes = Files.size(tmp);
                    var media = probe.probe(tmp);
                    if (media.duration() == null) {
                        error = "Error processing job: the fetched file is not a media file SpeechLab can read";
                    } else {
                        seconds = media.duration().toMillis() / 1000.0;
                        storage.putFile("speechlab/url-sources/" + projectId, tmp);
                    }
                }
            }
        } catch (Exception e) {
            error = "Error processing job: could not fetch mediaFileURI (" + e.getClass().getSimpleName() + ")";
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temp file
                }
            }
        }
        synchronized (this) {
            Project p = state().projects.get(projectId);
            if (p == null) {
                return;
            }
            p.fetching = false;
            p.fetchError = error;
            p.duration = seconds;
            p.fetchedBytes = bytes;
            p.createdAt = System.currentTimeMillis();
            save();
        }
        LOG.debugf("Sandbox SpeechLab fetched the source of project %s: %s", projectId, error == null ? bytes + " bytes" : error);
    }

    /** The next {@code times} createProjectAndDub fetch a link whose last character was changed (a broken signature). */
    public synchronized void tamperNextFetches(int times) {
        state().tamperFetches = Math.max(0, times);
        save();
    }

    private static String tampered(String uri) {
        char last = uri.charAt(uri.length() - 1);
        return uri.substring(0, uri.length() - 1) + (last == 'A' ? 'B' : 'A');
    }

    /** Bytes the worker fetched for the project of this thirdPartyID (0 when none or not yet). */
    public synchronized long fetchedBytes(String thirdPartyID) {
        return state().projects.values().stream().filter(p -> thirdPartyID.equals(p.thirdPartyID))
                .mapToLong(p -> p.fetchedBytes).sum();
    }

    private static String fileNameOf(String uri) {
        String path = java.net.URI.create(uri).getPath();
        String name = path == null ? "" : path.substring(path.lastIndexOf('/') + 1);
        return name.isBlank() || name.length() > 100 ? "source.mp4" : name;
    }

    /**
     * What createProjectAndDub's pipeline does on its own: the translation of targetLanguage once
     * the transcription is COMPLETE, its dub (charged then) once the translation is COMPLETE.
     */
    private void advancePipeline(State s, Project p, long now) {
        if (p.pipelineLanguage == null || p.fetching || p.fetchError != null) {
            return;
        }
        long stage = s.stageMillis >= 0 ? s.stageMillis : config.sandbox().stageDuration().toMillis();
        Translation t = p.translations.stream().filter(x -> x.language.equals(p.pipelineLanguage)).findFirst().orElse(null);
        if (t == null && "COMPLETE".equals(stageStatus(s, p.createdAt, now))) {
            t = new Translation();
            t.id = objectId();
            t.language = p.pipelineLanguage;
            t.createdAt = p.createdAt + 3 * stage;
            p.translations.add(t);
        }
        if (t != null && t.dubs.isEmpty() && "COMPLETE".equals(stageStatus(s, t.createdAt, now))) {
            long need = minutes(p.duration);
            Dub d = new Dub();
            d.id = objectId();
            d.language = t.language;
            d.voiceMatchingMode = p.voiceMatchingMode;
            d.createdAt = t.createdAt + 3 * stage;
            if (s.credits < need) {
                d.error = "Insufficient credits: need " + need + ", have " + s.credits;
            } else {
                s.credits -= need;
            }
            t.dubs.add(d);
        }
    }

    private Project projectOf(State s, String id) {
        Project p = s.projects.get(id);
        if (p == null) {
            throw new ApiError(404, "Project not found");
        }
        return p;
    }

    private Answer createTranslation(State s, RoutingContext ctx, JsonNode body) {
        if (body.has("projectId") || body.has("targetLanguage")) {
            throw new ApiError(400, "\"project\" is required (the body is {project, language, status})");
        }
        Project p = projectOf(s, String.valueOf(str(body, "project")));
        String lang = str(body, "language");
        if (lang == null || !"NOT_STARTED".equals(str(body, "status"))) {
            throw new ApiError(400, "\"language\" and \"status\":\"NOT_STARTED\" are required");
        }
        if (!"COMPLETE".equals(stageStatus(s, p.createdAt, System.currentTimeMillis()))) {
            throw new ApiError(400, "Transcription is not complete");
        }
        if (p.translations.stream().anyMatch(t -> t.language.equals(lang))) {
            throw new ApiError(409, "Translation already exists for this language");
        }
        Translation t = new Translation();
        t.id = objectId();
        t.language = lang;
        t.createdAt = System.currentTimeMillis();
        p.translations.add(t);
        return new Answer(201, Map.of("translation", translationView(s, p, t, false, "dubs")));
    }

    private Answer createDub(State s, RoutingContext ctx, JsonNode body) {
        if (body.has("projectId") || body.has("targetLanguage") || body.has("voiceId")) {
            throw new ApiError(400, "The body is {contentId, translationId, language, status, voiceMatchingMode}");
        }
        String translationId = str(body, "translationId");
        Project p = null;
        Translation t = null;
        for (Project candidate : s.projects.values()) {
            for (Translation x : candidate.translations) {
                if (x.id.equals(translationId)) {
                    p = candidate;
                    t = x;
                }
            }
        }
        if (t == null) {
            throw new ApiError(404, "Translation not found");
        }
        if (!p.contentId.equals(str(body, "contentId"))) {
            throw new ApiError(400, "\"contentId\" does not belong to this translation's project");
        }
        String lang = str(body, "language");
        if (lang == null || !lang.equals(t.language) || !"NOT_STARTED".equals(str(body, "status"))
                || str(body, "voiceMatchingMode") == null) {
            throw new ApiError(400, "\"language\" (the translation's), \"status\":\"NOT_STARTED\" and \"voiceMatchingMode\" are required");
        }
        if (!"COMPLETE".equals(stageStatus(s, t.createdAt, System.currentTimeMillis()))) {
            throw new ApiError(400, "Translation is not complete");
        }
        if (!t.dubs.isEmpty()) {
            throw new ApiError(409, "Dub already exists for this language");
        }
        long need = minutes(p.duration);
        if (s.credits < need) {
            throw new ApiError(402, "Insufficient credits: need " + need + ", have " + s.credits);
        }
        s.credits -= need;
        Dub d = new Dub();
        d.id = objectId();
        d.language = lang;
        d.voiceMatchingMode = str(body, "voiceMatchingMode");
        d.createdAt = System.currentTimeMillis();
        t.dubs.add(d);
        return new Answer(201, dubView(s, p, t, d, false));
    }

    /** The next {@code answers} expand=true answers hand out media links that have already expired. */
    public synchronized void expireLinksOfNextExpandAnswers(int answers) {
        state().expiredExpandAnswers = Math.max(0, answers);
        save();
    }

    private Answer listProjects(State s, RoutingContext ctx, JsonNode body) {
        boolean expand = "true".equals(ctx.queryParams().get("expand"));
        if (expand && s.expiredExpandAnswers > 0) {
            s.expiredExpandAnswers--;
            long ttl = s.mediaTtlSeconds;
            s.mediaTtlSeconds = -60;
            try {
                return listProjects(s, ctx, false, expand);
            } finally {
                s.mediaTtlSeconds = ttl;
            }
        }
        return listProjects(s, ctx, false, expand);
    }

    private Answer listProjects(State s, RoutingContext ctx, boolean unused, boolean expand) {
        String ids = ctx.queryParams().get("thirdPartyIDs");
        List<String> wanted = ids == null ? null : List.of(ids.split(","));
        List<Object> results = new ArrayList<>();
        for (Project p : s.projects.values()) {
            if (wanted == null || wanted.contains(p.thirdPartyID)) {
                results.add(view(s, p, expand));
            }
        }
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("results", results);
        b.put("page", 1);
        b.put("limit", 10);
        b.put("totalResults", results.size());
        return ok(b);
    }

    private Answer getProject(State s, RoutingContext ctx, JsonNode body) {
        Project p = projectOf(s, ctx.pathParam("projectId"));
        return ok(view(s, p, "true".equals(ctx.queryParams().get("expand"))));
    }

    // ================================================================ views and time

    /** Projects endpoint names a translation's dubs "dubs"; Recipe E's expand=true walk reads tx.dub — both given there. */
    private Map<String, Object> view(State s, Project p, boolean expand) {
        long now = System.currentTimeMillis();
        advancePipeline(s, p, now);
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("_id", p.id);
        v.put("id", p.id);
        v.put("name", p.name);
        v.put("thirdPartyID", p.thirdPartyID);
        v.put("content", Map.of("id", p.contentId, "_id", p.contentId, "fileKey", p.fileKey, "language", p.language,
                "contentDuration", p.duration, "filename", p.filename));
        Map<String, Object> tr = new LinkedHashMap<>();
        tr.put("id", p.transcriptionId);
        tr.put("_id", p.transcriptionId);
        tr.put("language", p.language);
        if (p.fetchError != null) {
            tr.put("status", "ERROR");
            tr.put("errorMessage", p.fetchError);
        } else {
            tr.put("status", p.fetching ? "NOT_STARTED" : stageStatus(s, p.createdAt, now));
        }
        v.put("transcription", tr);
        List<Object> txs = new ArrayList<>();
        for (Translation t : p.translations) {
            txs.add(translationView(s, p, t, expand, expand ? "dub" : "dubs"));
        }
        v.put("translations", txs);
        return v;
    }

    private Map<String, Object> translationView(State s, Project p, Translation t, boolean expand, String dubField) {
        long now = System.currentTimeMillis();
        String status = stageStatus(s, t.createdAt, now);
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("_id", t.id);
        v.put("id", t.id);
        v.put("project", p.id);
        v.put("language", t.language);
        v.put("status", status);
        List<Object> medias = new ArrayList<>();
        if ("COMPLETE".equals(status)) {
            String key = "speechlab/outputs/" + p.id + "/" + t.language + "/" + stem(p) + "_" + t.language + ".srt";
            if (!storage.exists(key)) {
                storage.putBytes(key, srt(t.language, p).getBytes(StandardCharsets.UTF_8));
            }
            medias.add(media(t.id + "-srt", "srt", key, expand));
        }
        v.put("medias", medias);
        List<Object> dubs = new ArrayList<>();
        for (Dub d : t.dubs) {
            dubs.add(dubView(s, p, t, d, expand));
        }
        v.put(dubField, dubs);
        return v;
    }

    private Map<String, Object> dubView(State s, Project p, Translation t, Dub d, boolean expand) {
        long now = System.currentTimeMillis();
        String status = stageStatus(s, d.createdAt, now);
        String failure = d.error != null ? d.error : s.failLanguages.get(d.language);
        if (("COMPLETE".equals(status) && failure != null) || d.error != null) {
            status = "ERROR";
        }
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("_id", d.id);
        v.put("id", d.id);
        v.put("contentId", p.contentId);
        v.put("translationId", t.id);
        v.put("language", d.language);
        v.put("voiceMatchingMode", "customized");
        v.put("status", status);
        v.put("mergeStatus", status);
        if ("ERROR".equals(status)) {
            v.put("errorMessage", failure);
        }
        List<Object> medias = new ArrayList<>();
        if ("COMPLETE".equals(status)) {
            String prefix = "speechlab/outputs/" + p.id + "/" + d.language + "/" + stem(p) + "_" + d.language;
            if (!storage.exists(prefix + ".mp4")) {
                storage.putFile(prefix + ".mp4", storage.pathOf(p.fileKey));
                storage.putBytes(prefix + ".mp3", DublabSimulator.mp3(d.language.hashCode()));
            }
            medias.add(media(d.id + "-mp4", "mp4", prefix + ".mp4", expand));
            medias.add(media(d.id + "-mp3", "mp3", prefix + ".mp3", expand));
        }
        v.put("medias", medias);
        return v;
    }

    /** Without expand a media is a bare ObjectId string; with it, an object carrying presignedURL. */
    private Object media(String id, String format, String key, boolean expand) {
        String mediaId = HexFormat.of().formatHex(md5Bytes(id.getBytes(StandardCharsets.UTF_8))).substring(0, 24);
        if (!expand) {
            return mediaId;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("_id", mediaId);
        m.put("format", format);
        m.put("fileKey", key);
        m.put("presignedURL", storage.presignGet(key, Duration.ofSeconds(state().mediaTtlSeconds)).toString());
        return m;
    }

    private String stageStatus(State s, long createdAt, long now) {
        long stage = s.stageMillis >= 0 ? s.stageMillis : config.sandbox().stageDuration().toMillis();
        long elapsed = now - createdAt;
        if (stage == 0 || elapsed >= 3 * stage) {
            return "COMPLETE";
        }
        return elapsed < stage ? "SUBMITTED" : elapsed < 2 * stage ? "GENERATING" : "PROCESSING";
    }

    private static String stem(Project p) {
        String name = DublabSimulator.safeName(p.filename);
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    private static String srt(String lang, Project p) {
        return "1\n00:00:00,000 --> 00:00:03,500\n[" + lang + "] dubhub sandbox SpeechLab subtitle of " + p.name + "\n\n";
    }

    /** Lifetime of media links in expand=true answers (negative = already expired). */
    public synchronized void setMediaLinkTtl(Duration ttl) {
        state().mediaTtlSeconds = ttl.toSeconds();
        save();
    }

    // ================================================================ state

    private State state() {
        if (state == null) {
            state = load();
        }
        return state;
    }

    private Path stateFile() {
        return Path.of(config.dataDir()).toAbsolutePath().normalize().resolve(".sandbox").resolve("speechlab-sim.json");
    }

    private State load() {
        Path file = stateFile();
        if (Files.isRegularFile(file)) {
            try {
                return json.readValue(file.toFile(), State.class);
            } catch (IOException e) {
                LOG.warnf("Sandbox SpeechLab state %s is unreadable (%s); starting empty", file, e.getMessage());
            }
        }
        return new State();
    }

    private void save() {
        Path file = stateFile();
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling("speechlab-sim.json." + UUID.randomUUID() + ".tmp");
            json.writeValue(tmp.toFile(), state());
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the sandbox SpeechLab state to " + file, e);
        }
    }

    private static void checkOperation(String operation) {
        if (!OPERATIONS.contains(operation)) {
            throw new IllegalArgumentException("unknown operation '" + operation + "', expected one of " + OPERATIONS);
        }
    }

    private static String str(JsonNode n, String field) {
        JsonNode v = n == null ? null : n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static long minutes(double seconds) {
        return (long) Math.ceil(seconds / 60.0);
    }

    private String objectId() {
        byte[] b = new byte[12];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private String randomId(int length) {
        final String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        StringBuilder id = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            id.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return id.toString();
    }

    private static String md5(Path file) throws IOException {
        try {
            MessageDigest d = MessageDigest.getInstance("MD5");
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    d.update(buf, 0, n);
                }
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] md5Bytes(byte[] data) {
        try {
            return MessageDigest.getInstance("MD5").digest(data);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // Persisted form.

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public static class State {
        public long credits = DEFAULT_CREDITS;
        public long tokenTtlSeconds = DEFAULT_TOKEN_TTL_SECONDS;
        public long stageMillis = -1;
        public long mediaTtlSeconds = MEDIA_URL_TTL.toSeconds();
        public Map<String, Integer> calls = new TreeMap<>();
        public Map<String, Long> accessTokens = new LinkedHashMap<>();
        public java.util.Set<String> refreshTokens = new java.util.LinkedHashSet<>();
        public Map<String, Upload> uploads = new LinkedHashMap<>();
        public Map<String, Project> projects = new LinkedHashMap<>();
        public Map<String, String> failLanguages = new TreeMap<>();
        public Map<String, FailNext> failNext = new TreeMap<>();
        public Map<String, Integer> loseNext = new TreeMap<>();
        public Integer failPart;
        public int expiredExpandAnswers;
        public int tamperFetches;
        public int failPartStatus = 500;
    }

    public static class Upload {
        public String fileUuid;
        public String fileKey;
        public String fileId;
        public String name;
        public int parts;
        public boolean finalized;
        public long bytes;
    }

    public static class Project {
        public String id;
        public String name;
        public String thirdPartyID;
        public String language;
        public String fileKey;
        public String filename;
        public double duration;
        public String pipelineLanguage;
        public String voiceMatchingMode;
        public String mediaFileURI;
        public boolean fetching;
        public String fetchError;
        public long fetchedBytes;
        public String contentId;
        public String transcriptionId;
        public long createdAt;
        public List<Translation> translations = new ArrayList<>();
    }

    public static class Translation {
        public String id;
        public String language;
        public long createdAt;
        public List<Dub> dubs = new ArrayList<>();
    }

    public static class Dub {
        public String id;
        public String language;
        public String voiceMatchingMode;
        public long createdAt;
        public String error;
    }
}
