package io.dubhub.upload;

import io.dubhub.http.BulkHttp;
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
import java.net.URI;
import java.nio.file.Path;
import java.util.LinkedHashMap;
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
    BulkHttp bulk;

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
        Map<String, String> headers = new LinkedHashMap<>(extraHeaders);
        if (contentType != null) {
            headers.put("Content-Type", contentType);
        }
        long started = System.nanoTime();
        BulkHttp.Answer response;
        try {
            response = bulk.put(url, file, offset, length, headers);
        } catch (IOException e) {
            metrics.providerCall(provider, "upload", 0, System.nanoTime() - started);
            throw new ProviderException(provider, Kind.TRANSIENT, Stage.UPLOAD,
                    "upload to " + UrlRedactor.redact(url) + " broke off: " + bulk.explain(e), e);
        }
        metrics.providerCall(provider, "upload", response.status(), System.nanoTime() - started);
        int status = response.status();
        if (response.ok()) {
            metrics.bytesMoved(provider, "upload", length);
            LOG.debugf("%s: uploaded %d bytes to %s (HTTP %d)", provider, length, UrlRedactor.redact(url), status);
            return new UploadResult(status, response.header("ETag"), length);
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
}
