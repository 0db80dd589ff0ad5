package io.dubhub.sandbox;

import io.dubhub.config.HubConfig;
import io.quarkus.vertx.http.runtime.RouteConstants;
import io.vertx.core.Future;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The sandbox's "cloud storage": objects are files under {@code <data-dir>/.sandbox/storage/<key>},
 * reached through presigned URLs that are checked the way S3 checks query-string auth. A client
 * that gets away with something here (wrong or missing Content-Type, chunked body, expired link)
 * would be refused by the real cloud too, so the hub's upload code is proven against these rules.
 */
@ApplicationScoped
@Named("sandboxStorage")
public class SandboxStorage {

    private static final Logger LOG = Logger.getLogger(SandboxStorage.class);

    public static final String PATH = "/sandbox/storage/";
    public static final String CONTROL_PATH = "/sandbox/storage-control/";

    static final String P_EXPIRES = "X-Sim-Expires";
    static final String P_CONTENT_TYPE = "X-Sim-ContentType";
    static final String P_SIGNATURE = "X-Sim-Signature";
    /** Like S3's response-content-disposition override; our downloadUrl uses it to force a download. */
    static final String P_DISPOSITION = "response-content-disposition";

    /** S3's ceiling on one PUT; larger objects need multipart there (EntityTooLarge). */
    static final long MAX_PUT_BYTES = 5L * 1024 * 1024 * 1024;

    private static final Map<String, String> MIME = Map.ofEntries(
            Map.entry("mp4", "video/mp4"), Map.entry("m4v", "video/x-m4v"), Map.entry("mov", "video/quicktime"),
            Map.entry("webm", "video/webm"), Map.entry("mkv", "video/x-matroska"), Map.entry("avi", "video/x-msvideo"),
            Map.entry("mp3", "audio/mpeg"), Map.entry("wav", "audio/wav"), Map.entry("m4a", "audio/mp4"),
            Map.entry("aac", "audio/aac"), Map.entry("ogg", "audio/ogg"), Map.entry("flac", "audio/flac"),
            Map.entry("srt", "application/x-subrip"), Map.entry("vtt", "text/vtt"), Map.entry("txt", "text/plain"),
            Map.entry("json", "application/json"), Map.entry("xml", "application/xml"),
            Map.entry("jpg", "image/jpeg"), Map.entry("jpeg", "image/jpeg"), Map.entry("png", "image/png"),
            Map.entry("zip", "application/zip"));

    @Inject
    HubConfig config;

    private final Map<String, AtomicInteger> puts = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> putAttempts = new ConcurrentHashMap<>();
    private final List<Consumer<String>> uploadListeners = new CopyOnWriteArrayList<>();
    /** Injected one-shot PUT failures: key prefix → HTTP status (test hook, additive). */
    private final Map<String, Integer> failNextPut = new ConcurrentHashMap<>();
    /** Injected one-shot GET faults: key prefix → what goes wrong (test hook). */
    private final Map<String, GetFault> getFaults = new ConcurrentHashMap<>();
    /** Answer GETs with Content-MD5, as Azure does for blobs stored with one (test hook; reads each object whole). */
    private volatile boolean checksums;
    private volatile byte[] secret;

    // ---------------------------------------------------------------- Java API

    /**
     * A URL that lets its holder PUT {@code key} until {@code ttl} has passed. {@code contentType}
     * null or empty means the request must carry no Content-Type at all (as SigV2 parts signed
     * with an empty type); otherwise exactly that header value.
     */
    public URI presignPut(String key, String contentType, Duration ttl) {
        checkKey(key);
        String type = contentType == null ? "" : contentType;
        long expires = expiresAt(ttl);
        return URI.create(base() + PATH + encodeKey(key)
                + "?" + P_EXPIRES + "=" + expires
                + "&" + P_CONTENT_TYPE + "=" + URLEncoder.encode(type, StandardCharsets.UTF_8)
                + "&" + P_SIGNATURE + "=" + sign("PUT", key, expires, type));
    }

    /** A URL that lets its holder GET {@code key} until {@code ttl} has passed. */
    public URI presignGet(String key, Duration ttl) {
        checkKey(key);
        long expires = expiresAt(ttl);
        return URI.create(base() + PATH + encodeKey(key)
                + "?" + P_EXPIRES + "=" + expires
                + "&" + P_SIGNATURE + "=" + sign("GET", key, expires, ""));
    }

    /** The key a URL of ours points at (the decoded path after {@code /sandbox/storage/}), or null. */
    public String keyOf(URI url) {
        String raw = url.getRawPath();
        int at = raw == null ? -1 : raw.indexOf(PATH);
        return at < 0 ? null : decodeKey(raw.substring(at + PATH.length()));
    }

    public Path pathOf(String key) {
        checkKey(key);
        Path root = root();
        Path path = root.resolve(key).normalize();
        if (!path.startsWith(root) || path.equals(root)) {
            throw new IllegalArgumentException("key escapes the storage root: " + key);
        }
        return path;
    }

    public boolean exists(String key) {
        return Files.isRegularFile(pathOf(key));
    }

    /** Server-side copy (a hard link where the file system allows it: outputs of many GiB cost nothing). */
    public void putFile(String key, Path source) {
        Path target = pathOf(key);
        try {
            Files.createDirectories(target.getParent());
            Path tmp = newTempFile();
            try {
                Files.deleteIfExists(tmp);
                Files.createLink(tmp, source);
            } catch (IOException | UnsupportedOperationException e) {
                Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            moveIntoPlace(tmp, target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store " + key, e);
        }
    }

    public void putBytes(String key, byte[] bytes) {
        Path target = pathOf(key);
        try {
            Files.createDirectories(target.getParent());
            Path tmp = newTempFile();
            Files.write(tmp, bytes);
            moveIntoPlace(tmp, target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store " + key, e);
        }
    }

    /** Called (on a worker thread) with the key of every object whose HTTP upload completed. */
    public void onUpload(Consumer<String> keyListener) {
        uploadListeners.add(keyListener);
    }

    /** Successful HTTP PUTs of {@code key} since this process started. */
    public int putCount(String key) {
        AtomicInteger n = puts.get(key);
        return n == null ? 0 : n.get();
    }

    /** Every HTTP PUT that reached {@code key}, refused ones included. */
    public int putAttempts(String key) {
        AtomicInteger n = putAttempts.get(key);
        return n == null ? 0 : n.get();
    }

    /**
     * The next HTTP PUT to a key starting with {@code keyPrefix} is refused with {@code status}
     * (after being counted in {@link #putAttempts}) and stores nothing; later PUTs work again.
     */
    public void failNextPut(String keyPrefix, int status) {
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("status must be an HTTP error status: " + status);
        }
        failNextPut.put(keyPrefix, status);
    }

    /** What a GET fault does with the body after announcing its full Content-Length. */
    public enum GetFault {
        /** half the bytes, then the connection drops: a download cut off in the middle */
        TRUNCATE,
        /** half the bytes, then nothing, the connection left open: a server that stalls */
        STALL,
        /** every byte, one of them flipped, under the Content-MD5 of the true bytes: corrupted in transit */
        CORRUPT
    }

    /**
     * The next GET of a key starting with {@code keyPrefix} announces the full Content-Length,
     * sends half the bytes and drops the connection: a download cut off in the middle.
     */
    public void truncateNextGet(String keyPrefix) {
        failNextGet(keyPrefix, GetFault.TRUNCATE);
    }

    public void failNextGet(String keyPrefix, GetFault fault) {
        getFaults.put(keyPrefix, fault);
    }

    /** Content-MD5 on every GET from now on (true) or only where a fault needs it (false, the default). */
    public void checksums(boolean on) {
        checksums = on;
    }

    private final Map<GetFault, AtomicInteger> faultedGets = new ConcurrentHashMap<>();

    /** How many GETs were cut off by {@link #truncateNextGet}. */
    public int truncatedGets() {
        return faultedGets(GetFault.TRUNCATE);
    }

    public int faultedGets(GetFault fault) {
        AtomicInteger n = faultedGets.get(fault);
        return n == null ? 0 : n.get();
    }

    private GetFault takeGetFault(String key) {
        for (String prefix : getFaults.keySet()) {
            if (key.startsWith(prefix)) {
                GetFault fault = getFaults.remove(prefix);
                if (fault != null) {
                    faultedGets.computeIfAbsent(fault, f -> new AtomicInteger()).incrementAndGet();
                    return fault;
                }
            }
        }
        return null;
    }

    private Integer takeInjectedFailure(String key) {
        for (String prefix : failNextPut.keySet()) {
            if (key.startsWith(prefix)) {
                Integer status = failNextPut.remove(prefix);
                if (status != null) {
                    return status;
                }
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- HTTP

    void register(@Observes Router router) {
        if (!config.sandbox().enabled()) {
            return;
        }
        // Before Quarkus' max-body-size gate (order -2): a cloud bucket takes objects of many GiB,
        // and we enforce S3's own 5 GiB single-PUT limit below instead.
        router.route(PATH + "*").method(HttpMethod.PUT)
                .order(RouteConstants.ROUTE_ORDER_UPLOAD_LIMIT - 1)
                .handler(this::handlePut);
        router.route(PATH + "*").method(HttpMethod.GET).handler(this::handleGet);
        router.route(CONTROL_PATH + "puts").method(HttpMethod.GET).handler(this::handlePutCounts);
        router.route(CONTROL_PATH + "presign").method(HttpMethod.POST).handler(this::handlePresign);
        removeStaleTempFiles();
        LOG.infof("Sandbox storage serving %s* from %s", PATH, root());
    }

    /** Uploads cut off by a crash leave .part files behind; an hour old is certainly nobody's upload in flight. */
    private void removeStaleTempFiles() {
        Path dir = tempDir();
        if (!Files.isDirectory(dir)) {
            return;
        }
        Instant cutoff = Instant.now().minus(Duration.ofHours(1));
        try (var files = Files.list(dir)) {
            files.filter(f -> {
                try {
                    return Files.getLastModifiedTime(f).toInstant().isBefore(cutoff);
                } catch (IOException e) {
                    return false;
                }
            }).forEach(SandboxStorage::deleteQuietly);
        } catch (IOException e) {
            LOG.debugf("cannot clean %s: %s", dir, e.getMessage());
        }
    }

    private void handlePut(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        // Nothing may be read before the target file is open; Quarkus' wrapper leaves it paused for us.
        req.pause();
        String key = requestKey(req);
        if (key == null) {
            rejectPut(ctx, new S3Error(400, "InvalidURI", "Couldn't parse the specified URI."));
            return;
        }
        putAttempts.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        Integer injected = failNextPut.isEmpty() ? null : takeInjectedFailure(key);
        if (injected != null) {
            rejectPut(ctx, new S3Error(injected, injected >= 500 ? "InternalError" : "AccessDenied",
                    "Injected failure (sandbox failNextPut)"));
            return;
        }
        String sent = req.getHeader(HttpHeaders.CONTENT_TYPE);
        S3Error denied = verify(ctx, "PUT", key, sent, true);
        if (denied != null) {
            rejectPut(ctx, denied);
            return;
        }
        String te = req.getHeader(HttpHeaders.TRANSFER_ENCODING);
        String cl = req.getHeader(HttpHeaders.CONTENT_LENGTH);
        if ((te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) || cl == null) {
            rejectPut(ctx, new S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header."));
            return;
        }
        long expected;
        try {
            expected = Long.parseLong(cl.trim());
        } catch (NumberFormatException e) {
            expected = -1;
        }
        if (expected < 0) {
            rejectPut(ctx, new S3Error(400, "InvalidArgument", "Content-Length is not a valid number: " + cl));
            return;
        }
        if (expected > MAX_PUT_BYTES) {
            rejectPut(ctx, new S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"));
            return;
        }
        Path tmp;
        try {
            tmp = newTempFile();
        } catch (IOException e) {
            rejectPut(ctx, new S3Error(500, "InternalError", "cannot create a temporary file: " + e.getMessage()));
            return;
        }
        final long length = expected;
        ctx.vertx().fileSystem().open(tmp.toString(), new OpenOptions().setWrite(true).setCreate(true).setTruncateExisting(true))
                .onFailure(err -> {
                    deleteQuietly(tmp);
                    rejectPut(ctx, new S3Error(500, "InternalError", "cannot open a temporary file: " + err.getMessage()));
                })
                .onSuccess(file -> new PutStream(ctx, key, tmp, file, length).start());
    }

    /** One upload in flight: body → temp file with MD5 computed on the way, constant memory. */
    private final class PutStream {
        private final RoutingContext ctx;
        private final HttpServerRequest req;
        private final String key;
        private final Path tmp;
        private final AsyncFile file;
        private final long expected;
        private final MessageDigest md5 = md5();
        private long received;
        private boolean finished;

        PutStream(RoutingContext ctx, String key, Path tmp, AsyncFile file, long expected) {
            this.ctx = ctx;
            this.req = ctx.request();
            this.key = key;
            this.tmp = tmp;
            this.file = file;
            this.expected = expected;
        }

        void start() {
            file.exceptionHandler(err -> abort(new S3Error(500, "InternalError", "write failed: " + err.getMessage())));
            req.handler(buf -> {
                if (finished) {
                    return;
                }
                md5.update(buf.getByteBuf().nioBuffer());
                received += buf.length();
                file.write(buf);
                if (file.writeQueueFull()) {
                    req.pause();
                    file.drainHandler(v -> req.resume());
                }
            });
            req.exceptionHandler(err -> abort(new S3Error(400, "IncompleteBody",
                    "You did not provide the number of bytes specified by the Content-Length HTTP header")));
            req.endHandler(v -> complete());
            if (req.isEnded()) {
                // An empty body may have ended before the file was open.
                complete();
                return;
            }
            if (expectsContinue(req)) {
                req.response().writeContinue();
            }
            req.resume();
        }

        private void complete() {
            if (finished) {
                return;
            }
            finished = true;
            file.close().onComplete(closed -> {
                if (closed.failed()) {
                    deleteQuietly(tmp);
                    respond(ctx, new S3Error(500, "InternalError", "cannot close the temporary file"));
                    return;
                }
                if (received != expected) {
                    deleteQuietly(tmp);
                    respond(ctx, new S3Error(400, "IncompleteBody",
                            "You did not provide the number of bytes specified by the Content-Length HTTP header"));
                    return;
                }
                String etag = HexFormat.of().formatHex(md5.digest());
                ctx.vertx().executeBlocking(() -> {
                    Path target = pathOf(key);
                    Files.createDirectories(target.getParent());
                    moveIntoPlace(tmp, target);
                    puts.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
                    for (Consumer<String> listener : uploadListeners) {
                        try {
                            listener.accept(key);
                        } catch (RuntimeException e) {
                            LOG.warnf(e, "Upload listener failed for %s", key);
                        }
                    }
                    return etag;
                }, false).onComplete(ar -> {
                    if (ar.failed()) {
                        deleteQuietly(tmp);
                        respond(ctx, new S3Error(500, "InternalError", "cannot store the object: " + ar.cause().getMessage()));
                    } else if (!ctx.response().ended()) {
                        ctx.response().setStatusCode(200)
                                .putHeader(HttpHeaders.ETAG, "\"" + etag + "\"")
                                .putHeader(HttpHeaders.CONTENT_LENGTH, "0")
                                .end();
                    }
                });
            });
        }

        private void abort(S3Error error) {
            if (finished) {
                return;
            }
            finished = true;
            file.close().onComplete(v -> deleteQuietly(tmp));
            // The client is usually gone by now; answer anyway in case it is still listening.
            respond(ctx, error);
        }
    }

    private void handleGet(RoutingContext ctx) {
        HttpServerRequest req = ctx.request();
        String key = requestKey(req);
        if (key == null) {
            respond(ctx, new S3Error(400, "InvalidURI", "Couldn't parse the specified URI."));
            return;
        }
        S3Error denied = verify(ctx, "GET", key, null, false);
        if (denied != null) {
            respond(ctx, denied);
            return;
        }
        Path path = pathOf(key);
        ctx.vertx().fileSystem().props(path.toString()).onComplete(ar -> {
            if (ar.failed() || !ar.result().isRegularFile()) {
                respond(ctx, new S3Error(404, "NoSuchKey", "The specified key does not exist."));
                return;
            }
            long size = ar.result().size();
            HttpServerResponse resp = ctx.response();
            resp.putHeader(HttpHeaders.CONTENT_TYPE, contentTypeOf(key));
            resp.putHeader(HttpHeaders.ACCEPT_RANGES, "bytes");
            resp.putHeader(HttpHeaders.LAST_MODIFIED,
                    java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME.format(
                            Instant.ofEpochMilli(ar.result().lastModifiedTime()).atZone(java.time.ZoneOffset.UTC)));
            String disposition = ctx.queryParams().get(P_DISPOSITION);
            if (disposition != null && !disposition.isBlank()) {
                resp.putHeader("Content-Disposition", disposition);
            }
            long offset = 0;
            long length = size;
            String range = req.getHeader("Range");
            if (range != null) {
                long[] r = io.dubhub.http.ByteRanges.parse(range, size);
                if (r == null) {
                    resp.putHeader("Content-Range", "bytes */" + size);
                    respond(ctx, new S3Error(416, "InvalidRange", "The requested range is not satisfiable"));
                    return;
                }
                if (r.length == 2) {
                    offset = r[0];
                    length = r[1] - r[0] + 1;
                    resp.setStatusCode(206);
                    resp.putHeader("Content-Range", "bytes " + r[0] + "-" + r[1] + "/" + size);
                }
            }
            resp.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(length));
            GetFault fault = getFaults.isEmpty() ? null : takeGetFault(key);
            if (fault == null && !checksums) {
                resp.sendFile(path.toString(), offset, length);
                return;
            }
            int from = (int) offset;
            int to = (int) (offset + length);
            ctx.vertx().fileSystem().readFile(path.toString()).onSuccess(all -> {
                io.vertx.core.buffer.Buffer body = all.slice(from, to);
                resp.putHeader("Content-MD5", java.util.Base64.getEncoder().encodeToString(md5(body.getBytes())));
                if (fault == GetFault.TRUNCATE) {
                    resp.write(body.slice(0, body.length() / 2)).onComplete(w -> req.connection().close());
                } else if (fault == GetFault.STALL) {
                    resp.write(body.slice(0, body.length() / 2)); // and nothing more: the client's idle timeout must end it
                } else if (fault == GetFault.CORRUPT) {
                    io.vertx.core.buffer.Buffer flipped = body.copy();
                    int at = flipped.length() / 2;
                    flipped.setByte(at, (byte) (flipped.getByte(at) ^ 0x5a));
                    resp.end(flipped);
                } else {
                    resp.end(body);
                }
            });
        });
    }

    /**
     * POST ?method=PUT|GET&key=…[&contentType=…]: a link as the simulators hand out, for tools that
     * compare themselves with the hub on the same storage (bench/S3StreamBench's curl legs).
     */
    private void handlePresign(RoutingContext ctx) {
        String key = ctx.queryParams().get("key");
        String method = ctx.queryParams().get("method");
        try {
            URI url = "PUT".equals(method) ? presignPut(key, ctx.queryParams().get("contentType"), Duration.ofHours(1))
                    : "GET".equals(method) ? presignGet(key, Duration.ofHours(1)) : null;
            if (url == null) {
                ctx.response().setStatusCode(400).end("method must be PUT or GET");
                return;
            }
            ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/plain").end(url.toString());
        } catch (IllegalArgumentException e) {
            ctx.response().setStatusCode(400).end(e.getMessage());
        }
    }

    private void handlePutCounts(RoutingContext ctx) {
        String key = ctx.queryParams().get("key");
        StringBuilder json = new StringBuilder("{");
        Map<String, Integer> counts = new TreeMap<>();
        if (key != null) {
            counts.put(key, putCount(key));
        } else {
            puts.forEach((k, v) -> counts.put(k, v.get()));
        }
        counts.forEach((k, v) -> json.append(json.length() > 1 ? "," : "")
                .append(io.vertx.core.json.Json.encode(k)).append(':').append(v));
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(json.append('}').toString());
    }

    /**
     * The S3 order of checks: a signature that does not match what we signed (tampered URL,
     * other method, other Content-Type) is SignatureDoesNotMatch; a genuine but old one is
     * AccessDenied "Request has expired".
     */
    private S3Error verify(RoutingContext ctx, String method, String key, String sentContentType, boolean checkType) {
        String expiresParam = ctx.queryParams().get(P_EXPIRES);
        String signature = ctx.queryParams().get(P_SIGNATURE);
        if (expiresParam == null || signature == null) {
            return new S3Error(403, "AccessDenied",
                    "Query-string authentication requires the " + P_SIGNATURE + " and " + P_EXPIRES + " parameters");
        }
        long expires;
        try {
            expires = Long.parseLong(expiresParam);
        } catch (NumberFormatException e) {
            return new S3Error(403, "AccessDenied", P_EXPIRES + " must be a number of seconds since the epoch");
        }
        String signedType = ctx.queryParams().get(P_CONTENT_TYPE);
        signedType = signedType == null ? "" : signedType;
        String expected = sign(method, key, expires, signedType);
        if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), signature.getBytes(StandardCharsets.US_ASCII))) {
            return new S3Error(403, "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
        }
        if (Instant.now().getEpochSecond() > expires) {
            return new S3Error(403, "AccessDenied", "Request has expired");
        }
        if (checkType) {
            String sent = sentContentType == null ? "" : sentContentType;
            if (!sent.equals(signedType)) {
                return new S3Error(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided: the URL was signed for "
                                + describeType(signedType) + " but the request carried " + describeType(sentContentType));
            }
        }
        return null;
    }

    private static String describeType(String type) {
        return type == null || type.isEmpty() ? "no Content-Type header" : "Content-Type '" + type + "'";
    }

    private void rejectPut(RoutingContext ctx, S3Error error) {
        HttpServerRequest req = ctx.request();
        if (expectsContinue(req)) {
            // The client is waiting for 100 before sending the body and will not send it: answer, then close.
            ctx.response().putHeader(HttpHeaders.CONNECTION, "close");
            respond(ctx, error).onComplete(v -> req.connection().close());
            return;
        }
        respond(ctx, error);
        // Drain whatever body still comes so the connection stays usable (S3 answers early the same way).
        req.handler(buf -> { });
        req.exceptionHandler(err -> { });
        req.resume();
    }

    static boolean expectsContinue(HttpServerRequest req) {
        String expect = req.getHeader(HttpHeaders.EXPECT);
        return expect != null && expect.equalsIgnoreCase("100-continue");
    }

    private static Future<Void> respond(RoutingContext ctx, S3Error error) {
        HttpServerResponse resp = ctx.response();
        if (resp.ended() || resp.closed()) {
            return Future.succeededFuture();
        }
        String body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + xml(error.code()) + "</Code><Message>"
                + xml(error.message()) + "</Message><RequestId>" + UUID.randomUUID() + "</RequestId></Error>";
        return resp.setStatusCode(error.status()).putHeader(HttpHeaders.CONTENT_TYPE, "application/xml").end(body);
    }

    private static String xml(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }


    // ---------------------------------------------------------------- internals

    private String requestKey(HttpServerRequest req) {
        String raw = req.path();
        if (raw == null || !raw.startsWith(PATH)) {
            return null;
        }
        String key = decodeKey(raw.substring(PATH.length()));
        try {
            checkKey(key);
            return key;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    static void checkKey(String key) {
        if (key == null || key.isEmpty() || key.startsWith("/") || key.endsWith("/") || key.indexOf('\\') >= 0
                || key.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not a valid storage key: " + key);
        }
        for (String segment : key.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("not a valid storage key: " + key);
            }
        }
    }

    static String encodeKey(String key) {
        StringBuilder out = new StringBuilder();
        for (String segment : key.split("/", -1)) {
            if (out.length() > 0) {
                out.append('/');
            }
            out.append(URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return out.toString();
    }

    static String decodeKey(String rawPath) {
        try {
            // Path encoding, not form encoding: a literal '+' is a plus.
            return URLDecoder.decode(rawPath.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    static String contentTypeOf(String key) {
        int dot = key.lastIndexOf('.');
        String ext = dot < 0 ? "" : key.substring(dot + 1).toLowerCase(Locale.ROOT);
        return MIME.getOrDefault(ext, "application/octet-stream");
    }

    private String sign(String method, String key, long expires, String contentType) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret(), "HmacSHA256"));
            byte[] sig = mac.doFinal((method + "\n" + key + "\n" + expires + "\n" + contentType).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sig);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /**
     * Random, but kept in the sandbox directory: links handed out before a restart stay valid
     * after it, as real presigned URLs do (a hub that crashed mid-job still holds them).
     */
    private byte[] secret() {
        byte[] s = secret;
        if (s != null) {
            return s;
        }
        synchronized (this) {
            if (secret == null) {
                Path file = sandboxDir().resolve("storage.secret");
                try {
                    if (Files.isRegularFile(file)) {
                        secret = HexFormat.of().parseHex(Files.readString(file).trim());
                    } else {
                        byte[] fresh = new byte[32];
                        new SecureRandom().nextBytes(fresh);
                        Files.createDirectories(file.getParent());
                        Path tmp = file.resolveSibling("storage.secret." + UUID.randomUUID());
                        Files.writeString(tmp, HexFormat.of().formatHex(fresh));
                        try {
                            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
                        } catch (UnsupportedOperationException ignored) {
                            // not a POSIX file system
                        }
                        try {
                            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
                        } catch (FileAlreadyExistsException raced) {
                            Files.deleteIfExists(tmp);
                        }
                        secret = HexFormat.of().parseHex(Files.readString(file).trim());
                    }
                } catch (IOException | IllegalArgumentException e) {
                    LOG.warnf("Cannot keep the sandbox storage secret in %s (%s); links will not survive a restart", file, e.getMessage());
                    byte[] fresh = new byte[32];
                    new SecureRandom().nextBytes(fresh);
                    secret = fresh;
                }
            }
            return secret;
        }
    }

    private static long expiresAt(Duration ttl) {
        return Instant.now().plus(ttl).getEpochSecond();
    }

    private String base() {
        String base = config.publicBaseUrl();
        return base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    }

    Path sandboxDir() {
        return Path.of(config.dataDir()).toAbsolutePath().normalize().resolve(".sandbox");
    }

    private Path root() {
        return sandboxDir().resolve("storage");
    }

    /** Temp files live beside (not inside) the storage root: same file system, never visible as objects. */
    Path tempDir() {
        return sandboxDir().resolve("storage-tmp");
    }

    private Path newTempFile() throws IOException {
        Path dir = tempDir();
        Files.createDirectories(dir);
        return dir.resolve(UUID.randomUUID() + ".part");
    }

    private static void moveIntoPlace(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.debugf("cannot delete %s: %s", path, e.getMessage());
        }
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] md5(byte[] bytes) {
        return md5().digest(bytes);
    }

    record S3Error(int status, String code, String message) {
    }
}
