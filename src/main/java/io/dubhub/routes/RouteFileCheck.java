package io.dubhub.routes;

import java.util.List;

/** What validation found in one version of a routes file: the routes it would create and every problem. */
public record RouteFileCheck(String file, String sha256, List<PlannedRoute> routes, List<RouteProblem> problems) {

    public boolean valid() {
        return problems.stream().noneMatch(RouteProblem::isError);
    }

    public List<RouteProblem> errors() {
        return problems.stream().filter(RouteProblem::isError).toList();
    }

    public List<RouteProblem> warnings() {
        return problems.stream().filter(p -> !p.isError()).toList();
    }

    public List<String> routeIds() {
        return routes.stream().map(PlannedRoute::routeId).toList();
    }
}
