package io.dubhub.upload;

/** What the storage answered to one PUT: the ETag is what S3 multipart completion needs. */
public record UploadResult(int status, String etag, long bytes) {
}
