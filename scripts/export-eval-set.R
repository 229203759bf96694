#!/usr/bin/env Rscript
# Exports the real-data evaluation set (data/eval/*.csv) from R packages that Debian ships:
# r-base's `datasets`, r-cran-forecast, r-cran-tseries, r-cran-lmtest, r-cran-urca.
# Run from the repository root:  Rscript scripts/export-eval-set.R
# Output, one long CSV per frequency (columns id,timestamp,value; empty value = missing) and
# data/eval/manifest.csv (id, frequency, seasonality, horizon, length, package, dataset,
# licence, source). Deterministic: running it again gives byte-identical files.
#
# Timestamps: monthly/quarterly/yearly series get the first day of their period from the ts
# attributes. ice.river (daily, 1972-01-01..1974-12-31) and taylor (from Monday 2000-06-05)
# get their real dates. gold, EuStockMarkets and tcmd are business-day series whose holidays
# R does not record: they get consecutive Monday-Friday dates from the documented start,
# so their dates are approximate (the values and their order are exact).

suppressPackageStartupMessages({
  library(datasets); library(forecast); library(tseries); library(lmtest); library(urca)
})

out_dir <- file.path("data", "eval")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

# M4-like horizons and GluonTS-like seasonal periods per frequency
freq_info <- list(
  yearly    = list(m = 1,  h = 6),
  quarterly = list(m = 4,  h = 8),
  monthly   = list(m = 12, h = 18),
  daily     = list(m = 7,  h = 14),
  bdaily    = list(m = 5,  h = 14),
  hourly    = list(m = 24, h = 48)
)
# bdaily series are written to daily.csv (the frequency column in the manifest tells them apart)
file_of <- function(f) if (f == "bdaily") "daily" else f

lic <- list(
  datasets = "Part of R (GPL-2 | GPL-3)",
  forecast = "GPL-3 (package forecast)",
  tseries  = "GPL-2 (package tseries)",
  lmtest   = "GPL-2 | GPL-3 (package lmtest)",
  urca     = "GPL (>= 2) (package urca)"
)

rows <- list(); manifest <- list()

# some packages' data are not lazy-loaded: load into a private environment by name
pkg_data <- function(name, pkg) { e <- new.env(); data(list = name, package = pkg, envir = e); get(name, envir = e) }
nino <- pkg_data("nino", "tseries"); tcm <- pkg_data("tcm", "tseries"); tcmd <- pkg_data("tcmd", "tseries")
USeconomic <- pkg_data("USeconomic", "tseries"); bev <- pkg_data("bev", "tseries"); ice.river <- pkg_data("ice.river", "tseries")
UKconsumption <- pkg_data("UKconsumption", "urca")

ts_dates <- function(x, f) {
  tt <- as.numeric(time(x)); fr <- frequency(x)
  yr <- floor(tt + 1e-9); cyc <- round((tt - yr) * fr) + 1
  if (f == "monthly") sprintf("%04d-%02d-01", yr, cyc)
  else if (f == "quarterly") sprintf("%04d-%02d-01", yr, 3 * (cyc - 1) + 1)
  else if (f == "yearly") sprintf("%04d-01-01", yr)
  else stop("ts_dates: unsupported frequency ", f)
}

business_days <- function(start, n) {
  d <- seq(as.Date(start), by = "day", length.out = ceiling(n * 7 / 5) + 10)
  d <- d[!(format(d, "%u") %in% c("6", "7"))]
  format(d[seq_len(n)], "%Y-%m-%d")
}

add <- function(id, values, timestamps, f, pkg, dataset, source) {
  values <- as.numeric(values)
  stopifnot(length(values) == length(timestamps), !anyDuplicated(timestamps))
  v <- ifelse(is.na(values), "", formatC(values, digits = 15, format = "g", flag = ""))
  v <- trimws(v)
  rows[[file_of(f)]] <<- c(rows[[file_of(f)]], paste(id, timestamps, v, sep = ","))
  manifest[[length(manifest) + 1]] <<- data.frame(
    id = id, frequency = f, seasonality = freq_info[[f]]$m, horizon = freq_info[[f]]$h,
    length = length(values), missing = sum(is.na(values)), package = pkg, dataset = dataset,
    licence = lic[[pkg]], source = source, stringsAsFactors = FALSE)
}

add_ts <- function(id, x, f, pkg, dataset, source, last = NULL) {
  if (!is.null(last) && length(x) > last) x <- window(x, start = time(x)[length(x) - last + 1])
  add(id, x, ts_dates(x, f), f, pkg, dataset, source)
}

# ---- monthly ----
add_ts("AirPassengers", AirPassengers, "monthly", "datasets", "AirPassengers", "Box, Jenkins & Reinsel (1976), Series G")
add_ts("nottem", nottem, "monthly", "datasets", "nottem", "Anderson (1976): average air temperatures at Nottingham Castle")
add_ts("co2", co2, "monthly", "datasets", "co2", "Mauna Loa CO2, Keeling & Whorf, Scripps")
add_ts("ldeaths", ldeaths, "monthly", "datasets", "UKLungDeaths", "Diggle (1990) Table A.3: UK lung disease deaths")
add_ts("mdeaths", mdeaths, "monthly", "datasets", "UKLungDeaths", "Diggle (1990) Table A.3 (males)")
add_ts("fdeaths", fdeaths, "monthly", "datasets", "UKLungDeaths", "Diggle (1990) Table A.3 (females)")
add_ts("UKDriverDeaths", UKDriverDeaths, "monthly", "datasets", "UKDriverDeaths", "Harvey (1989): UK car drivers killed or seriously injured")
for (col in c("front", "rear", "kms", "PetrolPrice", "VanKilled"))
  add_ts(paste0("Seatbelts.", col), Seatbelts[, col], "monthly", "datasets", "Seatbelts", "Harvey (1989): UK road casualties, traffic and petrol price")
add_ts("USAccDeaths", USAccDeaths, "monthly", "datasets", "USAccDeaths", "Brockwell & Davis (1991): US accidental deaths")
add_ts("sunspot.month", sunspot.month, "monthly", "datasets", "sunspot.month", "WDC-SILSO, Royal Observatory of Belgium (last 600 months)", last = 600)
add_ts("wineind", wineind, "monthly", "forecast", "wineind", "Time Series Data Library: Australian wine sales")
add_ts("gas", gas, "monthly", "forecast", "gas", "Australian Bureau of Statistics: gas production")
add_ts("nino.nino3", nino[, "nino3"], "monthly", "tseries", "nino", "NOAA Climate Prediction Center: Nino 3 SST index")
add_ts("nino.nino34", nino[, "nino3.4"], "monthly", "tseries", "nino", "NOAA Climate Prediction Center: Nino 3.4 SST index")
add_ts("tcm.tcm1y", tcm[, "tcm1y"], "monthly", "tseries", "tcm", "US Federal Reserve H.15: 1-year treasury yield")
add_ts("tcm.tcm10y", tcm[, "tcm10y"], "monthly", "tseries", "tcm", "US Federal Reserve H.15: 10-year treasury yield")
for (nm in c("ip", "lhur", "fyff", "gmdc", "pw561", "jocci")) {
  add_ts(paste0("lmtest.", nm), pkg_data(nm, "lmtest")[, "y"], "monthly", "lmtest", nm, "Stock & Watson (1996) macroeconomic series (column y)")
}

# ---- quarterly ----
add_ts("UKgas", UKgas, "quarterly", "datasets", "UKgas", "Durbin & Koopman (2001): UK gas consumption")
add_ts("JohnsonJohnson", JohnsonJohnson, "quarterly", "datasets", "JohnsonJohnson", "Shumway & Stoffer (2000): J&J quarterly earnings per share")
add_ts("austres", austres, "quarterly", "datasets", "austres", "Brockwell & Davis (1996): Australian residents")
add_ts("presidents", presidents, "quarterly", "datasets", "presidents", "Gallup: US presidential approval ratings (has missing values)")
add_ts("freeny.y", freeny.y, "quarterly", "datasets", "freeny", "Freeny (1977): quarterly revenue")
add_ts("woolyrnq", woolyrnq, "quarterly", "forecast", "woolyrnq", "Time Series Data Library: Australian woollen yarn production")
for (col in colnames(USeconomic))
  add_ts(paste0("USeconomic.", gsub("[^A-Za-z0-9]", "", col)), USeconomic[, col], "quarterly", "tseries", "USeconomic", "Luetkepohl (1991): US economic series")
for (col in colnames(UKconsumption))
  add_ts(paste0("UKconsumption.", col), UKconsumption[, col], "quarterly", "urca", "UKconsumption", "Pokorny (1987) from HMSO Economic Trends")

# ---- yearly ----
add_ts("Nile", Nile, "yearly", "datasets", "Nile", "Durbin & Koopman (2001): Nile flow at Aswan")
add_ts("lynx", lynx, "yearly", "datasets", "lynx", "Campbell & Walker (1977): Canadian lynx trappings")
add_ts("LakeHuron", LakeHuron, "yearly", "datasets", "LakeHuron", "Brockwell & Davis (1991): Lake Huron level")
add_ts("sunspot.year", sunspot.year, "yearly", "datasets", "sunspot.year", "WDC-SILSO: yearly sunspot numbers")
add_ts("nhtemp", nhtemp, "yearly", "datasets", "nhtemp", "Vaux (1985): New Haven mean temperature")
add_ts("discoveries", discoveries, "yearly", "datasets", "discoveries", "World Almanac (1975): great inventions per year (counts)")
add_ts("airmiles", airmiles, "yearly", "datasets", "airmiles", "Brown (1963): US airline passenger miles")
add_ts("bev", bev, "yearly", "tseries", "bev", "Beveridge (1921): wheat price index")

# ---- daily ----
ice_dates <- format(seq(as.Date("1972-01-01"), by = "day", length.out = nrow(ice.river)), "%Y-%m-%d")
for (col in colnames(ice.river))
  add(paste0("ice.river.", col), ice.river[, col], ice_dates, "daily", "tseries", "ice.river", "Tong (1990) via TSDL: Icelandic river flow, precipitation, temperature")
add("gold", gold, business_days("1985-01-01", length(gold)), "bdaily", "forecast", "gold", "Daily morning gold price in USD, 1985-01-01..1989-03-31 (has missing values)")
eu_dates <- business_days("1991-07-01", nrow(EuStockMarkets))
for (col in colnames(EuStockMarkets))
  add(paste0("EuStockMarkets.", col), EuStockMarkets[, col], eu_dates, "bdaily", "datasets", "EuStockMarkets", "Erste Bank AG Vienna: European stock index closing prices 1991-1998")
tcmd_last <- 1500
for (col in c("tcm1yd", "tcm10yd")) {
  x <- as.numeric(tcmd[, col]); x <- x[(length(x) - tcmd_last + 1):length(x)]
  add(paste0("tcmd.", sub("d$", "", col)), x, business_days("1993-01-04", length(x)), "bdaily", "tseries", "tcmd", "US Federal Reserve H.15: daily treasury yield (last 1500 business days; dates approximate)")
}

# ---- hourly ----
# taylor is half-hourly from Monday 2000-06-05 00:00: hourly = mean of each pair; the 12 weeks
# are split into three 4-week series so that the hourly group has three forecast origins.
tay <- as.numeric(taylor)
hourly <- colMeans(matrix(tay, nrow = 2))
hours <- format(seq(as.POSIXct("2000-06-05 00:00", tz = "UTC"), by = "hour", length.out = length(hourly)), "%Y-%m-%d %H:%M", tz = "UTC")
block <- 24 * 7 * 4
for (w in 1:3) {
  idx <- ((w - 1) * block + 1):(w * block)
  add(sprintf("taylor.hourly.w%d", w), hourly[idx], hours[idx], "hourly", "forecast", "taylor",
      sprintf("Taylor (2003): England & Wales electricity demand, half-hourly averaged to hourly, weeks %d-%d", 4 * w - 3, 4 * w))
}

for (f in names(rows)) {
  con <- file(file.path(out_dir, paste0(f, ".csv")), "wb")
  writeLines(c("id,timestamp,value", rows[[f]]), con, sep = "\n"); close(con)
}
man <- do.call(rbind, manifest)
write.csv(man, file.path(out_dir, "manifest.csv"), row.names = FALSE)
cat(sprintf("%d series written to %s\n", nrow(man), out_dir))
print(table(man$frequency))
