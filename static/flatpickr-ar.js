// The date picker's Arabic (flatpickr's locale table, which starlette-admin 1.0.3 does not
// ship): loaded in its place by admin_app/admin/fields.py on Arabic pages with a date.
(function () {
  "use strict";
  var flatpickr = window.flatpickr;
  if (!flatpickr) return;
  flatpickr.l10ns.ar = {
    firstDayOfWeek: 6,
    weekdays: {
      shorthand: ["أحد", "اثنين", "ثلاثاء", "أربعاء", "خميس", "جمعة", "سبت"],
      longhand: ["الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت"]
    },
    months: {
      shorthand: ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"],
      longhand: ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر",
        "أكتوبر", "نوفمبر", "ديسمبر"]
    },
    rangeSeparator: " - ",
    weekAbbreviation: "أسبوع",
    scrollTitle: "قم بالتمرير للزيادة",
    toggleTitle: "اضغط للتبديل",
    amPM: ["ص", "م"],
    yearAriaLabel: "السنة",
    monthAriaLabel: "الشهر",
    hourAriaLabel: "الساعة",
    minuteAriaLabel: "الدقيقة",
    time_24hr: false
  };
})();
