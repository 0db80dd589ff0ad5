package io.dubhub.delivery;

import io.dubhub.s3.S3FileUpload;
import io.dubhub.s3.S3Location;
import org.jboss.logging.Logger;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.IOException;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * s3://bucket/prefix/<dir>/: each output is uploaded from its complete local copy (multipart when
 * large, streamed from the file), then the local copy is deleted; job.json is one PUT after all
 * outputs, and S3 PUTs are atomic, so the manifest's presence means the job is complete.
 */
record S3Sink(S3Client s3, S3FileUpload.PartTransport parts, S3FileUpload.Layout layout, S3Location folder) implements JobSink {

    private static final Logger LOG = Logger.getLogger(S3Sink.class);

    @Override
    public String describe() {
        return folder.toString();
    }

    @Override
    public boolean holds(String relative, long bytes) {
        try {
            return s3.headObject(h -> h.bucket(folder.bucket()).key(folder.key(relative))).contentLength() == bytes;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw e;
        }
    }

    @Override
    public void put(String relative, Path complete) throws IOException {
        long size = Files.size(complete);
        long started = System.nanoTime();
        String type = URLConnection.guessContentTypeFromName(relative);
        S3FileUpload.Uploaded uploaded = S3FileUpload.upload(s3, parts, layout, folder.bucket(), folder.key(relative), complete, size,
                type == null ? "application/octet-stream" : type);
        double seconds = Math.max(1e-9, (System.nanoTime() - started) / 1e9);
        LOG.infof("Uploaded %s%s: %d bytes in %.2f s (%.0f MiB/s, %d request(s)%s)", folder, relative, size, seconds,
                size / seconds / (1024 * 1024), uploaded.requests(),
                uploaded.requests() > 1 ? String.format(", of which %.2f s the store took to complete the upload", uploaded.completeSeconds()) : "");
        Files.deleteIfExists(complete);
    }

    @Override
    public void writeManifest(byte[] json) {
        s3.putObject(p -> p.bucket(folder.bucket()).key(folder.key("job.json")).contentType("application/json"),
                RequestBody.fromBytes(json));
    }
}
