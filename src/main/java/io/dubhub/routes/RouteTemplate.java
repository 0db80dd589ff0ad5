package io.dubhub.routes;

import java.util.Map;

/** A route template ops may instantiate (watch-folder, watch-bucket, ...): its parameters by name. */
public record RouteTemplate(String id, Map<String, Parameter> parameters) {

    /** @param required true when the template gives no default, so every templatedRoute must set it */
    public record Parameter(String name, boolean required, String description) {
    }
}
