package io.dubhub.s3;

import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpRequest;

/**
 * Takes the {@code Expect: 100-continue} that the SDK puts on every PutObject/UploadPart off
 * again (SDK 2.32 has no switch for it). With the URL-connection HTTP client, a 100-continue sent
 * on a pooled connection the store has meanwhile closed fails as "Unexpected end of file from
 * server" inside the SDK's request stage, outside its retry; without the header the same stale
 * connection is an I/O error the SDK retries (seen in S3SinkTest). The handshake buys nothing
 * here: only small bodies (job.json, files under one part) go through the SDK; media bytes go
 * through {@link io.dubhub.http.BulkHttp}, which asks first itself.
 */
public final class NoExpectContinue implements ExecutionInterceptor {

    @Override
    public SdkHttpRequest modifyHttpRequest(Context.ModifyHttpRequest context, ExecutionAttributes executionAttributes) {
        SdkHttpRequest request = context.httpRequest();
        return request.firstMatchingHeader("Expect").isPresent() ? request.toBuilder().removeHeader("Expect").build() : request;
    }
}
