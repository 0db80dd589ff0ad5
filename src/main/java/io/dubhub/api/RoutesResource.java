package io.dubhub.api;

import io.dubhub.routes.RouteFileCheck;
import io.dubhub.routes.RouteFiles;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.util.LinkedHashMap;
import java.util.Map;

/** The watch-route files: what runs from each, and a dry run for a new version (ops' CI, editors). */
@Path("/api/routes")
@Produces(MediaType.APPLICATION_JSON)
public class RoutesResource {

    @Inject
    RouteFiles routeFiles;

    /** Every routes file: its hash, when it was applied, its route ids and their status, its last errors with lines. */
    @GET
    public Map<String, Object> list() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("folder", routeFiles.builtIn() ? "built-in (no " + routeFiles.folder() + ")" : routeFiles.folder().toString());
        out.put("files", routeFiles.status());
        return out;
    }

    /**
     * Checks a routes file (the request body) against the running hub without applying it: 200 with
     * warnings, or 422 with the errors and their lines. {@code ?file=inbox.yaml} checks it as the new
     * version of that file, so the route ids it already has are not reported as taken.
     */
    @POST
    @Path("/validate")
    @Consumes({"application/yaml", "application/x-yaml", "text/yaml", MediaType.TEXT_PLAIN, MediaType.APPLICATION_OCTET_STREAM, MediaType.WILDCARD})
    public Response validate(String yaml, @QueryParam("file") String file) {
        RouteFileCheck check = routeFiles.validate(yaml == null ? "" : yaml, file);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("valid", check.valid());
        out.put("sha256", check.sha256());
        out.put("routeIds", check.routeIds());
        out.put("errors", check.errors());
        out.put("warnings", check.warnings());
        out.put("messages", check.problems().stream().map(p -> p.describe(check.file())).toList());
        return Response.status(check.valid() ? 200 : 422).entity(out).build();
    }
}
