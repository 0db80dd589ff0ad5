package io.dubhub.provider;

import java.net.URI;
import java.util.Map;

/**
 * One output a provider offers: which language, what kind, where to fetch it and what to call it
 * in the sink. {@code providerRef} is the provider object that owns it (to refresh the link).
 * {@code headers} are sent with the download (empty for presigned links, which must get none).
 */
public record OutputLink(String language, String type, URI url, String fileName, String providerRef,
                         Map<String, String> headers) {

    public OutputLink withUrl(URI fresh) {
        return new OutputLink(language, type, fresh, fileName, providerRef, headers);
    }
}
