package io.dubhub.upload;

import io.dubhub.http.UrlRedactor;
import io.dubhub.job.Stage;
import io.dubhub.metrics.HubMetrics;
import io.dubhub.provider.ProviderException;
import io.dubhub.provider.ProviderException.Kind;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.inject.Named;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * Streams a file (or one byte range of it, for multipart parts) to a presigned URL with a known
 * Content-Length, never chunked (S3 refuses chunked PUTs to presigned URLs) and never read whole
 * into memory. The Content-Type is sent exactly as the URL was signed for, or not at all.
 */
@ApplicationScoped
@Named("presignedPutUploader")
public class PresignedPutUploader {

    private static final Logger LOG = Logger.getLogger(PresignedPutUploader.class);

    @Inject
    HttpClient http;

    @Inject
    HubMetrics metrics;

    /** Whole file, with a Content-Type that must equal the one the URL was signed with (null = none). */
    public UploadResult putFile(String provider, URI url, Path file, String contentType) {
        try {
            long size = java.nio.file.Files.size(file);
            return putRange(provider, url, file, 0, size, contentType, Map.of());
        } catch (IOException e) {
            throw new ProviderException(provider, Kind.REJECTED, Stage.UPLOAD, "cannot read the source file " + file.getFileName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * One byte range of a file. {@code contentType} null means the request carries no
     * Content-Type header at all (SigV2 parts signed with an empty type need exactly that).
     */
    public UploadResult putRange(String provider, URI url, Path file, long offset, long length, String contentType,
                                 Map<String, String> extraHeaders) {
        HttpRequest.Builder request = HttpRequest.newBuilder(url)
                .timeout(timeoutFor(length))
                .PUT(HttpRequest.BodyPublishers.fromPublisher(
                        HttpRequest.BodyPublishers.ofInputStream(() -> openRange(file, offset, length)), length));
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        extraHeaders.forEach(request::header);
        long started = System.nanoTime();
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new ProviderException(provider, Kind.TRANSIENT, Stage.UPLOAD,
                    "upload to " + UrlRedactor.redact(url) + " broke off: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProviderException(provider, Kind.TRANSIENT, Stage.UPLOAD, "upload interrupted", e);
        }
        metrics.providerCall(provider, "upload", response.statusCode(), System.nanoTime() - started);
        int status = response.statusCode();
        if (status / 100 == 2) {
            metrics.bytesMoved(provider, "upload", length);
            String etag = response.headers().firstValue("ETag").orElse(null);
            LOG.debugf("%s: uploaded %d bytes to %s (HTTP %d)", provider, length, UrlRedactor.redact(url), status);
            return new UploadResult(status, etag, length);
        }
        throw classify(provider, url, status, response.body(), contentType);
    }

    private static ProviderException classify(String provider, URI url, int status, String body, String contentType) {
        String where = UrlRedactor.redact(url);
        String lower = body == null ? "" : body.toLowerCase(Locale.ROOT);
        String snippet = body == null ? null : body.length() > 500 ? body.substring(0, 500) : body;
        if (status >= 500 || status == 429 || status == 408) {
            return new ProviderException(provider, Kind.TRANSIENT, Stage.UPLOAD, status,
                    "the storage answered HTTP " + status + " to the upload; will retry", snippet);
        }
        if (lower.contains("expired") || lower.contains("authenticationfailed") && lower.contains("expir")) {
            return new ProviderException(provider, Kind.REJECTED, Stage.UPLOAD, status,
                    "the upload link from " + provider + " expired before the upload finished (" + where + ")", snippet);
        }
        if (lower.contains("signaturedoesnotmatch")) {
            String sent = contentType == null ? "no Content-Type" : "Content-Type '" + contentType + "'";
            return new ProviderException(provider, Kind.REJECTED, Stage.UPLOAD, status,
                    "the storage refused the upload signature: we sent " + sent
                            + ", which must match what the link was signed for (" + where + ")", snippet);
        }
        if (status == 411 || lower.contains("missingcontentlength")) {
            return new ProviderException(provider, Kind.REJECTED, Stage.UPLOAD, status,
                    "the storage wants a Content-Length on the upload (" + where + ")", snippet);
        }
        return new ProviderException(provider, Kind.REJECTED, Stage.UPLOAD, status,
                "the storage refused the upload with HTTP " + status + " (" + where + ")", snippet);
    }

    private static InputStream openRange(Path file, long offset, long length) {
        try {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
            channel.position(offset);
            return new BoundedInputStream(Channels.newInputStream(channel), length);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Generous but finite: the JDK client's timeout covers the whole exchange, body included. */
    private static Duration timeoutFor(long bytes) {
        return Duration.ofMinutes(10).plusSeconds(bytes / (1024 * 1024));
    }

    /** Reads at most {@code limit} bytes so a part never runs into the next one. */
    static final class BoundedInputStream extends InputStream {
        private final InputStream in;
        private long remaining;

        BoundedInputStream(InputStream in, long limit) {
            this.in = in;
            this.remaining = limit;
        }

        @Override
        public int read() throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int b = in.read();
            if (b >= 0) {
                remaining--;
            }
            return b;
        }

        @Override
        public int read(byte[] buf, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int n = in.read(buf, off, (int) Math.min(len, remaining));
            if (n > 0) {
                remaining -= n;
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
