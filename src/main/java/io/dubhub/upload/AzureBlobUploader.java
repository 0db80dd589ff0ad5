package io.dubhub.upload;

import io.dubhub.http.BulkHttp;
import io.dubhub.http.UrlRedactor;
import io.dubhub.job.Stage;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderException.Kind;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Uploads a file to an Azure Blob SAS URL with plain HTTP (no Azure SDK at Quarkus 3.27):
 * up to {@code singlePutMaxBytes} in one Put Blob, above that in blocks (Put Block ?comp=block
 * then Put Block List ?comp=blocklist). Every request streams with an exact Content-Length,
 * carries {@code x-ms-blob-type: BlockBlob} where Azure wants it and never any API key: the SAS
 * in the URL is the only credential. A 403 (the SAS expired or was refused) asks the
 * {@link SasSource} for a new URL and goes on, a bounded number of times.
 */
public final class AzureBlobUploader {

    /** Hands out a fresh SAS URL for the blob; Perso's GET /file/api/upload/sas-token in production. */
    @FunctionalInterface
    public interface SasSource {
        URI next();
    }

    /** What was uploaded: the blob URL without its SAS, the bytes, how many SAS URLs and blocks it took. */
    public record Result(URI blobUrl, URI lastSasUrl, long bytes, int sasUrlsUsed, int blocks) {
    }

    static final String DEFAULT_VERSION = "2024-11-04";
    private static final Pattern ERROR_CODE = Pattern.compile("<Code>([^<]+)</Code>");
    private static final Pattern ERROR_MESSAGE = Pattern.compile("<Message>([^<]*)</Message>", Pattern.DOTALL);

    private final BulkHttp http;
    private final String provider;
    private final long singlePutMaxBytes;
    private final long blockBytes;
    private final int maxSasUrls;

    public AzureBlobUploader(BulkHttp http, String provider, long singlePutMaxBytes, long blockBytes, int maxSasUrls) {
        if (blockBytes <= 0 || blockBytes > 4000L * 1024 * 1024) {
            throw new IllegalArgumentException("block size must be 1 byte .. 4000 MiB: " + blockBytes);
        }
        this.http = http;
        this.provider = provider;
        this.singlePutMaxBytes = singlePutMaxBytes;
        this.blockBytes = blockBytes;
        this.maxSasUrls = Math.max(1, maxSasUrls);
    }

    public Result upload(Path file, SasSource sas) {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw new ProviderException(provider, Kind.REJECTED, Stage.UPLOAD, "cannot read the source file " + file.getFileName() + ": " + e.getMessage(), e);
        }
        return size <= singlePutMaxBytes ? single(file, size, sas) : blocks(file, size, sas);
    }

    private Result single(Path file, long size, SasSource sas) {
        URI url = sas.next();
        for (int used = 1; ; used++) {
            try {
                put(url, file, 0, size, blobHeaders(url));
                return new Result(withoutQuery(url), url, size, used, 0);
            } catch (SasRefused refused) {
                if (used >= maxSasUrls) {
                    throw refused.giveUp(used);
                }
                url = sas.next();
            }
        }
    }

    private Result blocks(Path file, long size, SasSource sas) {
        URI url = sas.next();
        int used = 1;
        int count = (int) ((size + blockBytes - 1) / blockBytes);
        List<String> ids = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            ids.add(Base64.getEncoder().encodeToString(String.format(Locale.ROOT, "dubhub-block-%08d", i).getBytes(StandardCharsets.US_ASCII)));
        }
        int next = 0;
        while (true) {
            try {
                for (; next < count; next++) {
                    long offset = next * blockBytes;
                    long length = Math.min(blockBytes, size - offset);
                    put(withQuery(url, "comp=block&blockid=" + URLEncoder.encode(ids.get(next), StandardCharsets.UTF_8)),
                            file, offset, length, blockHeaders(url));
                }
                StringBuilder xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
                ids.forEach(id -> xml.append("<Latest>").append(id).append("</Latest>"));
                xml.append("</BlockList>");
                Map<String, String> headers = new LinkedHashMap<>(versionHeader(url));
                headers.put("Content-Type", "application/xml");
                headers.put("x-ms-blob-content-type", "application/octet-stream");
                putBytes(withQuery(url, "comp=blocklist"), xml.toString().getBytes(StandardCharsets.UTF_8), headers);
                return new Result(withoutQuery(url), url, size, used, count);
            } catch (SasRefused refused) {
                if (used >= maxSasUrls) {
                    throw refused.giveUp(used);
                }
                URI fresh = sas.next();
                used++;
                if (!withoutQuery(fresh).equals(withoutQuery(url))) {
                    // Uncommitted blocks belong to the old blob: a new blob path starts over.
                    next = 0;
                }
                url = fresh;
            }
        }
    }

    /** One streamed PUT of a byte range with exactly the given headers (tests use it to break the rules on purpose). */
    public void put(URI url, Path file, long offset, long length, Map<String, String> headers) {
        boolean putBlob = url.getRawQuery() == null || !url.getRawQuery().contains("comp=");
        boolean blobTypeMissing = putBlob && headers.keySet().stream().noneMatch(h -> h.equalsIgnoreCase("x-ms-blob-type"));
        send(url, () -> http.put(url, file, offset, length, headers), blobTypeMissing);
    }

    private void putBytes(URI url, byte[] body, Map<String, String> headers) {
        send(url, () -> http.put(url, body, headers), false);
    }

    private interface Exchange {
        BulkHttp.Answer run() throws IOException;
    }

    private void send(URI url, Exchange exchange, boolean blobTypeMissing) {
        BulkHttp.Answer response;
        try {
            response = exchange.run();
        } catch (IOException e) {
            throw new ProviderException(provider, Kind.TRANSIENT, Stage.UPLOAD,
                    "upload to the blob storage " + UrlRedactor.redact(url) + " broke off: " + e.getMessage(), e);
        }
        int status = response.status();
        if (response.ok()) {
            return;
        }
        String body = response.body();
        String code = response.header("x-ms-error-code") != null ? response.header("x-ms-error-code") : match(ERROR_CODE, body);
        String message = match(ERROR_MESSAGE, body);
        String said = (code == null ? "" : code) + (message == null ? "" : (code == null ? "" : ": ") + message.trim());
        String where = UrlRedactor.redact(withoutQuery(url));
        if (status == 403) {
            throw new SasRefused(new ProviderException(provider, Kind.REJECTED, Stage.UPLOAD, status,
                    "the blob storage refused the upload link (HTTP 403 " + (code == null ? "" : code)
                            + "): the SAS expired or is not valid for " + where, said));
        }
        if (status >= 500 || status == 429 || status == 408) {
            throw new ProviderException(provider, Kind.TRANSIENT, Stage.UPLOAD, status,
                    "the blob storage answered HTTP " + status + " to the upload; will retry", said);
        }
        // Azure answers MissingRequiredHeader; Azurite a bare 400 with no body: either way, name the header.
        if (status == 400 && (blobTypeMissing && (code == null || said.isBlank()) || lower(said).contains("x-ms-blob-type") || "MissingRequiredHeader".equalsIgnoreCase(code)
                || "InvalidHeaderValue".equalsIgnoreCase(code))) {
            throw new ProviderException(provider, Kind.REJECTED, Stage.UPLOAD, status,
                    "the blob storage refused the upload: it needs the header 'x-ms-blob-type: BlockBlob' (HTTP 400 "
                            + (code == null ? "" : code) + ") at " + where, said);
        }
        if (status == 411 || "MissingContentLengthHeader".equalsIgnoreCase(code)) {
            throw new ProviderException(provider, Kind.REJECTED, Stage.UPLOAD, status,
                    "the blob storage wants a Content-Length on the upload (" + where + ")", said);
        }
        throw new ProviderException(provider, Kind.REJECTED, Stage.UPLOAD, status,
                "the blob storage refused the upload with HTTP " + status + (code == null ? "" : " " + code) + " (" + where + ")"
                        + (said.isBlank() ? "" : ": " + said.lines().findFirst().orElse("")), said.isBlank() ? body : said);
    }

    /** A 403 that a new SAS may cure; becomes a plain failure when no more SAS URLs may be asked for. */
    static final class SasRefused extends RuntimeException {
        final ProviderException failure;

        SasRefused(ProviderException failure) {
            super(failure.getMessage(), null, false, false);
            this.failure = failure;
        }

        ProviderException giveUp(int used) {
            // Transient: the job retries later with backoff (bounded by hub.poll.max-attempts), asking for new links again.
            return new ProviderException(failure.provider(), Kind.TRANSIENT, Stage.UPLOAD, failure.httpStatus(),
                    failure.getMessage() + "; gave up after " + used + " fresh upload link(s) in a row", failure.providerMessage());
        }
    }

    private static Map<String, String> blobHeaders(URI url) {
        Map<String, String> h = new LinkedHashMap<>(versionHeader(url));
        h.put("x-ms-blob-type", "BlockBlob");
        h.put("Content-Type", "application/octet-stream");
        return h;
    }

    private static Map<String, String> blockHeaders(URI url) {
        Map<String, String> h = new LinkedHashMap<>(versionHeader(url));
        h.put("Content-Type", "application/octet-stream");
        return h;
    }

    /** The REST version the SAS was signed for (sv), so the request and the signature agree. */
    private static Map<String, String> versionHeader(URI url) {
        String query = url.getRawQuery();
        if (query != null) {
            for (String p : query.split("&")) {
                if (p.startsWith("sv=")) {
                    return Map.of("x-ms-version", java.net.URLDecoder.decode(p.substring(3), StandardCharsets.UTF_8));
                }
            }
        }
        return Map.of("x-ms-version", DEFAULT_VERSION);
    }

    public static URI withoutQuery(URI url) {
        String s = url.toString();
        int q = s.indexOf('?');
        return URI.create(q < 0 ? s : s.substring(0, q));
    }

    static URI withQuery(URI url, String extra) {
        String s = url.toString();
        return URI.create(s + (s.indexOf('?') < 0 ? "?" : "&") + extra);
    }

    private static String match(Pattern p, String body) {
        if (body == null) {
            return null;
        }
        Matcher m = p.matcher(body);
        return m.find() ? m.group(1) : null;
    }

    private static String lower(String s) {
        return s == null ? "" : s.toLowerCase(Locale.ROOT);
    }
}
