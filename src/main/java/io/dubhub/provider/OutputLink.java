package io.dubhub.provider;

import java.net.URI;
import java.util.Map;

/**
 * One output a provider offers: which language, what kind, where to fetch it and what to call it
 * in the sink. {@code providerRef} is the provider object that owns it (to refresh the link).
 * {@code headers} are sent with the download (empty for presigned links, which must get none).
 * {@code metadata} is what the provider says about the output (title, duration...), recorded with
 * the delivered file and written into the manifest; empty for most providers.
 */
public record OutputLink(String language, String type, URI url, String fileName, String providerRef,
                         Map<String, String> headers, Map<String, Object> metadata) {

    public OutputLink {
        metadata = metadata == null ? Map.of() : metadata;
    }

    public OutputLink(String language, String type, URI url, String fileName, String providerRef, Map<String, String> headers) {
        this(language, type, url, fileName, providerRef, headers, Map.of());
    }

    public OutputLink withUrl(URI fresh) {
        return new OutputLink(language, type, fresh, fileName, providerRef, headers, metadata);
    }

    public OutputLink withUrl(URI fresh, Map<String, String> freshHeaders) {
        return new OutputLink(language, type, fresh, fileName, providerRef, freshHeaders, metadata);
    }
}
