// Phone photos made smaller in the student's browser before a picture uploader sends them
// (ui/widgets/photo_shrink.py says why). Installed once per tab; the Python side fills in the
// four upper-case names. Anything the browser cannot read or shrink is sent exactly as chosen,
// so the server's checks still say what is wrong with it in one sentence.
(() => {
  if (window.__explorerPhotoShrink) return;
  window.__explorerPhotoShrink = true;
  const SHORT_SIDE = SHORT_SIDE_PX, MOST_PIXELS = MOST_PIXELS_COUNT, QUALITY = JPEG_QUALITY;
  const UPLOADER = UPLOADER_SELECTOR;
  const ours = new WeakSet(); // the events this script sends on, which it lets through

  const pictureInput = (element) =>
    element instanceof HTMLInputElement && element.type === "file" &&
    element.closest(UPLOADER) !== null && /(^|,)\.jpe?g(,|$)/.test(element.accept);
  const hasJpeg = (files) => Array.from(files || []).some((file) => file.type === "image/jpeg");

  function loaded(url) {
    // The load event gives the picture's size (upright, as its EXIF orientation says) from its
    // header; its pixels are decoded only when it is drawn.
    const image = new Image();
    image.src = url;
    return new Promise((resolve, reject) => {
      image.onload = () => resolve(image);
      image.onerror = reject;
    });
  }

  async function smaller(file) {
    if (file.type !== "image/jpeg") return file;
    const url = URL.createObjectURL(file);
    try {
      const image = await loaded(url);
      const width = image.naturalWidth, height = image.naturalHeight;
      const short = Math.min(width, height);
      // Already small enough, or so large that the server should refuse it in its own words.
      if (!short || short <= SHORT_SIDE || width * height > MOST_PIXELS) return file;
      const scale = SHORT_SIDE / short;
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      const context = canvas.getContext("2d");
      context.imageSmoothingQuality = "high";
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
      if (!blob || blob.size >= file.size) return file;
      return new File([blob], file.name, { type: "image/jpeg", lastModified: file.lastModified });
    } catch (error) {
      return file;
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  async function asTransfer(files) {
    const transfer = new DataTransfer();
    for (const file of await Promise.all(Array.from(files, smaller))) transfer.items.add(file);
    return transfer;
  }

  // Capture phase on the document: before the uploader's own handlers (React listens at its root).
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (ours.has(event) || !pictureInput(input) || !hasJpeg(input.files)) return;
    event.stopImmediatePropagation();
    input.setAttribute("aria-busy", "true");
    asTransfer(input.files).then((transfer) => {
      input.files = transfer.files;
      input.removeAttribute("aria-busy");
      const again = new Event("change", { bubbles: true });
      ours.add(again);
      input.dispatchEvent(again);
    });
  }, true);

  document.addEventListener("drop", (event) => {
    const uploader = event.target instanceof Element ? event.target.closest(UPLOADER) : null;
    const input = uploader && uploader.querySelector('input[type="file"]');
    if (ours.has(event) || !pictureInput(input) || !hasJpeg(event.dataTransfer && event.dataTransfer.files)) return;
    event.preventDefault(); // the browser would open the dropped file itself
    event.stopImmediatePropagation();
    const target = event.target;
    asTransfer(event.dataTransfer.files).then((transfer) => {
      const again = new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: transfer });
      ours.add(again);
      target.dispatchEvent(again);
    });
  }, true);
})();
