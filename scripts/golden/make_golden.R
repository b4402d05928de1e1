#!/usr/bin/env Rscript
# Golden reference numbers for scoring/ from independent implementations:
# R metafor (rma method = "DL", escalc), stats::p.adjust, stats::cor / cor.test, pnorm.
# Debian: apt-get install r-base-core r-cran-metafor
# Run:    Rscript scripts/golden/make_golden.R > tests/golden/reference_r.json
suppressPackageStartupMessages(library(metafor))

num <- function(x) {
  if (length(x) == 0) return("[]")
  s <- ifelse(is.na(x), "null", ifelse(is.infinite(x), ifelse(x > 0, "1e999", "-1e999"), sprintf("%.17g", x)))
  if (length(x) == 1) s else paste0("[", paste(s, collapse = ", "), "]")
}
obj <- function(...) {
  args <- list(...)
  paste0("{", paste(sprintf('"%s": %s', names(args), unlist(args)), collapse = ", "), "}")
}

dl_case <- function(yi, vi) {
  fit <- suppressWarnings(rma(yi = yi, vi = vi, method = "DL"))
  obj(yi = num(yi), vi = num(vi), estimate = num(as.numeric(fit$b)), se = num(fit$se), z = num(fit$zval),
      p = num(fit$pval), ci_low = num(fit$ci.lb), ci_high = num(fit$ci.ub), tau2 = num(fit$tau2),
      q = num(fit$QE), i2 = num(fit$I2), k = num(fit$k))
}

dl <- list(
  k1 = dl_case(c(0.5), c(0.04)),
  k2 = dl_case(c(0.2, 0.8), c(0.05, 0.1)),
  tau2_zero = dl_case(c(0.30, 0.31, 0.29, 0.305), c(0.04, 0.05, 0.06, 0.045)),
  high_i2 = dl_case(c(-1.2, 0.1, 1.5, 2.9, 0.7), c(0.01, 0.012, 0.009, 0.011, 0.01)),
  unequal_variances = dl_case(c(0.4, 0.9, -0.2, 0.5), c(0.0001, 2.5, 0.5, 10.0)),
  identical = dl_case(c(0.5, 0.5, 0.5), c(0.02, 0.03, 0.04)),
  large_effect = dl_case(c(3.1, 2.8, 3.4), c(0.0004, 0.0005, 0.0003)),
  # nearly identical studies: the one-pass Q = sum(w y^2) - (sum(w y))^2 / sum(w) cancels
  # (issue #16: 3.034227091802677e-09 instead of metafor's 3.0342275024254e-09)
  near_identical = dl_case(c(-0.5960115829622562, -0.5960466361487009), c(0.3088541826277461, 0.09610091020715819))
)

cor_case <- function(ri, ni) {
  es <- escalc(measure = "ZCOR", ri = ri, ni = ni)
  fit <- rma(yi, vi, data = es, method = "DL")
  obj(ri = num(ri), ni = num(ni), estimate = num(as.numeric(fit$b)), se = num(fit$se), z = num(fit$zval),
      p = num(fit$pval), tau2 = num(fit$tau2), q = num(fit$QE), i2 = num(fit$I2), k = num(fit$k),
      r = num(tanh(as.numeric(fit$b))))
}
correlations <- list(
  small_n = cor_case(c(0.9, 0.2, -0.5, 0.6), c(4, 10, 7, 25)),
  homogeneous = cor_case(c(0.41, 0.39, 0.40), c(50, 60, 40))
)

# Hedges' g, MetaIntegrator convention; d recovered from metafor's escalc(SMD), which
# applies the exact correction c(m) = exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2))
g_case <- function(x1, x2) {
  n1 <- length(x1); n2 <- length(x2); N <- n1 + n2
  es <- escalc(measure = "SMD", m1i = mean(x1), sd1i = sd(x1), n1i = n1, m2i = mean(x2), sd2i = sd(x2), n2i = n2)
  m <- N - 2
  cexact <- exp(lgamma(m / 2) - log(sqrt(m / 2)) - lgamma((m - 1) / 2))
  d <- as.numeric(es$yi) / cexact
  g <- (1 - 3 / (4 * N - 9)) * d
  v <- N / (n1 * n2) + g^2 / (2 * (N - 3.94))
  # kappa of the rule "group 1 when sign(g) (x - (m1 + m2)/2) > 0" against the true group
  thr <- (mean(x1) + mean(x2)) / 2
  pred <- c(sign(g) * (x1 - thr) > 0, sign(g) * (x2 - thr) > 0)
  truth <- c(rep(TRUE, n1), rep(FALSE, n2))
  po <- mean(pred == truth)
  pe <- mean(pred) * mean(truth) + mean(!pred) * mean(!truth)
  obj(x1 = num(x1), x2 = num(x2), d = num(d), g = num(g), var_g = num(v), kappa = num((po - pe) / (1 - pe)))
}
hedges <- list(
  tiny_2_vs_3 = g_case(c(1.2, 2.9), c(0.1, 0.5, -0.4)),
  tiny_3_vs_2 = g_case(c(3.3, 2.1, 2.8), c(1.0, 1.6)),
  small_4_vs_5 = g_case(c(0.5, 1.7, 1.1, 2.2), c(-0.3, 0.4, 0.0, 0.9, -1.1)),
  negative = g_case(c(-2.0, -1.5, -2.4, -1.9), c(0.3, 0.1, 0.8))
)

zs <- c(1.2, -0.3, 2.5, 0.7); ns <- c(50, 20, 80, 35); ws <- sqrt(ns)
zc <- sum(ws * zs) / sqrt(sum(ws^2))
stouffer <- obj(z = num(zs), w = num(ws), combined_z = num(zc), p = num(2 * pnorm(-abs(zc))))

p <- c(0, 0.01, 0.01, 0.03, 0.04, 0.04, 0.5, 1, 1, 0.2, 0.0001, 0.049)
bh <- obj(p = num(p), q = num(p.adjust(p, method = "BH")))

z <- c(0, 0.5, 1.96, 5, 8, 10, 20, 37, 40, 60)
tails <- obj(z = num(z), p = num(2 * pnorm(-abs(z))),
             neglog10_p = num(-(log(2) + pnorm(-abs(z), log.p = TRUE)) / log(10)))

x <- c(1, 2, 2, 3, 5, 5, 5, 8, 9, 12); y <- c(3, 1, 4, 4, 6, 5, 9, 2, 8, 10)
spearman <- obj(x = num(x), y = num(y), r = num(cor(x, y, method = "spearman")),
                r_cor_test = num(as.numeric(suppressWarnings(cor.test(x, y, method = "spearman"))$estimate)))

section <- function(lst) paste0("{", paste(sprintf('"%s": %s', names(lst), unlist(lst)), collapse = ",\n  "), "}")
cat("{\n",
    '"generator": "scripts/golden/make_golden.R (', R.version.string, ', metafor ', as.character(packageVersion("metafor")), ')",\n',
    '"dl": ', section(dl), ",\n",
    '"correlations": ', section(correlations), ",\n",
    '"hedges": ', section(hedges), ",\n",
    '"stouffer": ', stouffer, ",\n",
    '"bh": ', bh, ",\n",
    '"tails": ', tails, ",\n",
    '"spearman": ', spearman, "\n}\n", sep = "")
