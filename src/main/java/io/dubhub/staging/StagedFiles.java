package io.dubhub.staging;

import io.dubhub.config.HubConfig;
import io.dubhub.http.UrlRedactor;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;

/**
 * Staging for providers that pull a URL instead of taking an upload: a file under the data
 * folder is served at {@code {hub.public-base-url}/staged/{token}}, where the token is an
 * HMAC-signed, expiring grant for exactly one file. Nothing else is served from here: the
 * token names the file, the request cannot.
 *
 * <p>Token: {@code base64url(payload) "." base64url(HMAC-SHA256(secret, payload))} with the
 * payload {@code v1 \n expiry-epoch-seconds \n nonce \n absolute-path}. The secret is
 * {@code hub.staging.secret} (HUB_STAGING_SECRET) or else a random one kept in
 * {@code <data-dir>/.staging.secret}, so links survive a restart.
 */
@ApplicationScoped
@Named("stagedFiles")
public class StagedFiles {

    private static final Logger LOG = Logger.getLogger(StagedFiles.class);

    public static final String PATH = "/staged/";
    static final String SECRET_FILE = ".staging.secret";
    private static final String VERSION = "v1";
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getUrlDecoder();
    private static final SecureRandom RANDOM = new SecureRandom();

    private static final Map<String, String> MIME = Map.ofEntries(
            Map.entry("mp4", "video/mp4"), Map.entry("m4v", "video/x-m4v"), Map.entry("mov", "video/quicktime"),
            Map.entry("webm", "video/webm"), Map.entry("mkv", "video/x-matroska"), Map.entry("avi", "video/x-msvideo"),
            Map.entry("mp3", "audio/mpeg"), Map.entry("wav", "audio/wav"), Map.entry("m4a", "audio/mp4"),
            Map.entry("aac", "audio/aac"), Map.entry("ogg", "audio/ogg"), Map.entry("flac", "audio/flac"),
            Map.entry("srt", "application/x-subrip"), Map.entry("vtt", "text/vtt"), Map.entry("txt", "text/plain"),
            Map.entry("json", "application/json"));

    @Inject
    HubConfig config;

    /** Looked up on first use: a hub without buckets never builds an S3 presigner. */
    @Inject
    Instance<S3Presigner> presigner;

    private volatile byte[] secret;

    // ---------------------------------------------------------------- minting

    /**
     * A link to one file under the data folder, valid for {@code ttl}. The file need not exist
     * yet; it must be (or be going to be) a regular file under {@code hub.data-dir}.
     */
    public URI stage(Path file, Duration ttl) {
        Path signed = canonical(file);
        if (!signed.startsWith(dataDirReal())) {
            throw new IllegalArgumentException("only files under the data folder can be staged: " + file);
        }
        URI url = urlFor(mint(signed.toString(), Instant.now().plus(ttl).getEpochSecond()));
        LOG.debugf("staged %s at %s until +%s", signed, UrlRedactor.redact(url), ttl);
        return url;
    }

    /**
     * A presigned GET for an object in the hub's S3 account: the provider fetches it from the
     * bucket directly and never sees a key, only a signature valid for {@code ttl} (SigV4 allows
     * up to 7 days).
     */
    public URI stageObject(String bucket, String key, Duration ttl) {
        var request = presigner.get().presignGetObject(p -> p
                .signatureDuration(ttl)
                .getObjectRequest(g -> g.bucket(bucket).key(key)));
        URI url = URI.create(request.url().toString());
        LOG.debugf("staged s3://%s/%s at %s for %s", bucket, key, UrlRedactor.redact(url), ttl);
        return url;
    }

    URI urlFor(String token) {
        String base = config.publicBaseUrl();
        if (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        return URI.create(base + PATH + token);
    }

    /** Signs any path: the server, not the minting, decides what may be served. Package-private for tests. */
    String mint(String absolutePath, long expiresEpochSeconds) {
        byte[] nonce = new byte[12];
        RANDOM.nextBytes(nonce);
        String payload = VERSION + "\n" + expiresEpochSeconds + "\n" + HexFormat.of().formatHex(nonce) + "\n" + absolutePath;
        byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
        return B64.encodeToString(bytes) + "." + B64.encodeToString(hmac(bytes));
    }

    /** The parent folder resolved (symlinks in the data-dir path are fine), the file name itself not. */
    private static Path canonical(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        try {
            return parent == null ? abs : parent.toRealPath().resolve(abs.getFileName());
        } catch (IOException e) {
            return abs;
        }
    }

    private Path dataDirReal() {
        Path dir = Path.of(config.dataDir()).toAbsolutePath().normalize();
        try {
            return dir.toRealPath();
        } catch (IOException e) {
            return dir;
        }
    }

    // ---------------------------------------------------------------- checking

    /** What a token grants, or why not. */
    record Grant(int status, String reason, Path path, long size) {
        static Grant refuse(int status, String reason) {
            return new Grant(status, reason, null, -1);
        }
    }

    Grant check(String token) {
        int dot = token == null ? -1 : token.indexOf('.');
        if (dot <= 0 || dot != token.lastIndexOf('.')) {
            return Grant.refuse(403, "invalid token");
        }
        byte[] payload;
        byte[] signature;
        try {
            payload = B64D.decode(token.substring(0, dot));
            signature = B64D.decode(token.substring(dot + 1));
        } catch (IllegalArgumentException e) {
            return Grant.refuse(403, "invalid token");
        }
        // Canonical encoding only: the spare low bits of the last base64 character must not make a second valid token.
        if (!B64.encodeToString(payload).equals(token.substring(0, dot))
                || !B64.encodeToString(signature).equals(token.substring(dot + 1))) {
            return Grant.refuse(403, "invalid token");
        }
        if (!MessageDigest.isEqual(hmac(payload), signature)) {
            return Grant.refuse(403, "invalid token");
        }
        String[] parts = new String(payload, StandardCharsets.UTF_8).split("\n", 4);
        if (parts.length != 4 || !VERSION.equals(parts[0])) {
            return Grant.refuse(403, "invalid token");
        }
        long expires;
        try {
            expires = Long.parseLong(parts[1]);
        } catch (NumberFormatException e) {
            return Grant.refuse(403, "invalid token");
        }
        if (Instant.now().getEpochSecond() >= expires) {
            return Grant.refuse(410, "this link expired at " + Instant.ofEpochSecond(expires));
        }
        Path signed = Path.of(parts[3]);
        if (!signed.isAbsolute() || !signed.equals(signed.normalize()) || !signed.startsWith(dataDirReal())) {
            return Grant.refuse(403, "not served");
        }
        Path real;
        try {
            real = signed.toRealPath();
        } catch (NoSuchFileException e) {
            return Grant.refuse(404, "no such file");
        } catch (IOException e) {
            return Grant.refuse(404, "no such file");
        }
        if (!real.equals(signed) || !real.startsWith(dataDirReal())) {
            return Grant.refuse(403, "not served");
        }
        if (!Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
            return Grant.refuse(403, "not served");
        }
        try {
            return new Grant(200, null, real, Files.size(real));
        } catch (IOException e) {
            return Grant.refuse(404, "no such file");
        }
    }

    // ---------------------------------------------------------------- HTTP

    void register(@Observes Router router) {
        // Production code: always on, whatever the sandbox setting.
        router.route(HttpMethod.GET, PATH + ":token").handler(this::serve);
        router.route(HttpMethod.HEAD, PATH + ":token").handler(this::serve);
    }

    private void serve(RoutingContext ctx) {
        String token = ctx.pathParam("token");
        ctx.vertx().executeBlocking(() -> check(token), false).onComplete(ar -> {
            HttpServerResponse resp = ctx.response();
            if (ar.failed()) {
                LOG.warnf(ar.cause(), "staged file check failed for %s", UrlRedactor.redact(ctx.request().path()));
                plain(ctx, 500, "internal error");
                return;
            }
            Grant grant = ar.result();
            if (grant.status() != 200) {
                LOG.debugf("staged %s %s -> %d %s", ctx.request().method(), UrlRedactor.redact(ctx.request().path()),
                        grant.status(), grant.reason());
                plain(ctx, grant.status(), grant.reason());
                return;
            }
            long size = grant.size();
            long offset = 0;
            long length = size;
            resp.putHeader(HttpHeaders.CONTENT_TYPE, contentTypeOf(grant.path().getFileName().toString()));
            resp.putHeader(HttpHeaders.ACCEPT_RANGES, "bytes");
            resp.putHeader(HttpHeaders.CACHE_CONTROL, "private, no-store");
            String range = ctx.request().getHeader("Range");
            if (range != null) {
                long[] r = io.dubhub.http.ByteRanges.parse(range, size);
                if (r == null) {
                    resp.putHeader(HttpHeaders.CONTENT_RANGE, "bytes */" + size);
                    plain(ctx, 416, "range not satisfiable");
                    return;
                }
                if (r.length == 2) {
                    offset = r[0];
                    length = r[1] - r[0] + 1;
                    resp.setStatusCode(206);
                    resp.putHeader(HttpHeaders.CONTENT_RANGE, "bytes " + r[0] + "-" + r[1] + "/" + size);
                }
            }
            resp.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(length));
            if (ctx.request().method() == HttpMethod.HEAD) {
                resp.end();
            } else {
                resp.sendFile(grant.path().toString(), offset, length);
            }
        });
    }

    private static void plain(RoutingContext ctx, int status, String reason) {
        ctx.response().setStatusCode(status)
                .putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
                .end(reason + "\n");
    }

    static String contentTypeOf(String name) {
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
        return MIME.getOrDefault(ext, "application/octet-stream");
    }


    // ---------------------------------------------------------------- other signed values

    /**
     * An HMAC of {@code value} under the staging secret, for other unguessable per-job values
     * (webhook URL tokens). {@code purpose} separates them from each other and from staged-link
     * tokens, whose payload always starts with "v1". Deterministic, so nothing needs storing.
     */
    public String sign(String purpose, String value) {
        if (purpose == null || purpose.isBlank() || purpose.startsWith(VERSION) || purpose.contains("\n")) {
            throw new IllegalArgumentException("a signing purpose is a short name without line breaks, not " + purpose);
        }
        return B64.encodeToString(hmac((purpose + "\n" + value).getBytes(StandardCharsets.UTF_8)));
    }

    // ---------------------------------------------------------------- secret

    private byte[] hmac(byte[] payload) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret(), "HmacSHA256"));
            return mac.doFinal(payload);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private byte[] secret() {
        byte[] s = secret;
        if (s == null) {
            synchronized (this) {
                if (secret == null) {
                    secret = loadSecret();
                }
                s = secret;
            }
        }
        return s;
    }

    private byte[] loadSecret() {
        var configured = config.staging().secret().filter(v -> !v.isBlank());
        if (configured.isPresent()) {
            return configured.get().getBytes(StandardCharsets.UTF_8);
        }
        Path file = Path.of(config.dataDir()).toAbsolutePath().normalize().resolve(SECRET_FILE);
        try {
            if (Files.isRegularFile(file)) {
                return B64D.decode(Files.readString(file, StandardCharsets.US_ASCII).trim());
            }
            Files.createDirectories(file.getParent());
            byte[] fresh = new byte[32];
            RANDOM.nextBytes(fresh);
            Path tmp = Files.createTempFile(file.getParent(), SECRET_FILE, ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, B64.encodeToString(fresh), StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
            try {
                // Never replace: another process may have won the race, and its secret is the one links carry.
                Files.createLink(file, tmp);
            } catch (FileAlreadyExistsException raced) {
                Files.deleteIfExists(tmp);
                return B64D.decode(Files.readString(file, StandardCharsets.US_ASCII).trim());
            } catch (UnsupportedOperationException | IOException noHardLinks) {
                Files.move(tmp, file);
            }
            Files.deleteIfExists(tmp);
            LOG.infof("generated the staging secret in %s", file);
            return fresh;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the staging secret " + file, e);
        }
    }
}
