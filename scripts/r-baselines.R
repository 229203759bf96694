#!/usr/bin/env Rscript
# Classical baselines on the real evaluation set (data/eval) from R's forecast package
# (Debian r-cran-forecast): forecast::ets, forecast::auto.arima and forecast::thetaf, fitted
# per series on the history (everything but the last `horizon` values, as buildEvalTasks in
# src/data/evalSet.ts) with the series' seasonal period from manifest.csv.
# Run from the repository root:  Rscript scripts/r-baselines.R   (npm run eval:r-baselines)
# Output: data/eval/r-baselines.csv, one row per (series, method, step) with the quantiles at
# levels 0.1..0.9. Deterministic (seeded before every fit; numbers printed with 10 significant
# digits).
#
# Quantiles: the prediction intervals of forecast() at central levels 20/40/60/80 % give the
# tail quantiles (the 80 % interval's lower/upper bounds are the 0.1/0.9 quantiles, and so on),
# and the point forecast is the 0.5 quantile: the forecast mean, which is the median of the
# Gaussian forecast distribution these methods assume (ETS in its analytic classes, ARIMA and
# Theta intervals are normal: no bootstrap, no Box-Cox).
# Missing values: auto.arima takes NA as they are; ets and thetaf cannot, so they see the
# history with gaps filled by forecast::na.interp (only gold and presidents have gaps).

# Partial runs (to spread the fits over several processes):  --ids id1,id2 --out FILE  writes
# only those series, header included; the rows of each series do not depend on the others, so
# the parts' rows in manifest order (one header) equal the full file.

suppressPackageStartupMessages(library(forecast))
`%||%` <- function(a, b) if (is.null(a)) b else a

args <- commandArgs(trailingOnly = TRUE)
arg_value <- function(name) { i <- match(name, args); if (is.na(i) || i == length(args)) NULL else args[i + 1] }
dir <- file.path("data", "eval")
out_file <- arg_value("--out") %||% file.path(dir, "r-baselines.csv")
manifest <- read.csv(file.path(dir, "manifest.csv"), stringsAsFactors = FALSE)
only <- arg_value("--ids")
if (!is.null(only)) {
  ids <- strsplit(only, ",")[[1]]
  unknown <- setdiff(ids, manifest$id)
  if (length(unknown)) stop("--ids: not in the manifest: ", paste(unknown, collapse = ", "))
  manifest <- manifest[manifest$id %in% ids, ]
}
levels_out <- c(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
central <- c(20, 40, 60, 80) # central interval levels in percent for the pairs (0.4,0.6) .. (0.1,0.9)

file_of <- function(f) if (f == "bdaily") "daily" else f
cache <- list()
series_values <- function(id, freq) {
  f <- file_of(freq)
  if (is.null(cache[[f]])) cache[[f]] <<- read.csv(file.path(dir, paste0(f, ".csv")), stringsAsFactors = FALSE,
                                                   colClasses = c("character", "character", "numeric"))
  d <- cache[[f]]
  v <- d$value[d$id == id]
  if (length(v) == 0) stop("series ", id, " is not in ", f, ".csv")
  v
}

# [H, 9] quantile matrix from a forecast object with intervals at `central`
quantile_matrix <- function(fc, H) {
  q <- matrix(NA_real_, H, length(levels_out))
  lo <- as.matrix(fc$lower); hi <- as.matrix(fc$upper)
  for (k in seq_along(central)) {
    p <- (1 - central[k] / 100) / 2 # lower tail probability of that interval
    q[, which(abs(levels_out - p) < 1e-9)] <- lo[, k]
    q[, which(abs(levels_out - (1 - p)) < 1e-9)] <- hi[, k]
  }
  q[, which(levels_out == 0.5)] <- as.numeric(fc$mean)
  q
}

fmt <- function(x) sprintf("%.10g", x)
con <- file(out_file, "w")
writeLines(paste(c("id", "method", "model", "step", paste0("q", levels_out)), collapse = ","), con)
for (i in seq_len(nrow(manifest))) {
  e <- manifest[i, ]
  v <- series_values(e$id, e$frequency)
  if (length(v) != e$length) stop("series ", e$id, " has ", length(v), " values, manifest says ", e$length)
  H <- e$horizon; m <- e$seasonality
  y <- ts(v[seq_len(length(v) - H)], frequency = m)
  y_filled <- if (anyNA(y)) na.interp(y) else y
  t0 <- proc.time()[["elapsed"]]
  fits <- list(
    ets = function() { f <- ets(y_filled); list(fc = forecast(f, h = H, level = central), model = f$method) },
    auto.arima = function() { f <- auto.arima(y); list(fc = forecast(f, h = H, level = central), model = forecast:::arima.string(f, padding = FALSE)) },
    thetaf = function() list(fc = thetaf(y_filled, h = H, level = central), model = "Theta")
  )
  for (method in names(fits)) {
    # ETS models outside the analytic classes get simulated intervals: seeded, so reruns agree
    set.seed(20261207)
    r <- fits[[method]]()
    q <- quantile_matrix(r$fc, H)
    if (any(!is.finite(q))) stop(method, " on ", e$id, ": non-finite forecast")
    for (h in seq_len(H)) {
      writeLines(paste(c(e$id, method, paste0('"', r$model, '"'), h, fmt(q[h, ])), collapse = ","), con)
    }
  }
  flush(con)
  message(sprintf("%s: %.1fs", e$id, proc.time()[["elapsed"]] - t0))
}
close(con)
message("wrote ", out_file)
