package io.dubhub.routes;

import java.util.Map;

/** One templatedRoute entry of a routes file, as written (parameter values before placeholders are resolved). */
public record PlannedRoute(String routeId, String template, int line, Map<String, String> parameters) {
}
